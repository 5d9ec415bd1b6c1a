"""Bird-call regions of interest: loading, 48 kHz / 3 s preprocessing, mel images, embeddings."""
