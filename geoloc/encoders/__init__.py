"""Location encoders: positional encodings, networks, the LocationEncoder, pretrained peers."""
