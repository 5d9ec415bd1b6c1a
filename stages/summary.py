"""DVC stage `summary`: every step's metrics -> results/headline/<block>.json, a handful of short
keys per dataset, the encoder and the demos: the files DVC tracks as metrics (the full metrics
stay beside each step's outputs)."""

from geoloc.entry import stage_command
from geoloc.report import run_summary


@stage_command()
def main(params, layout):
    """Write the headline metrics of whatever results exist."""
    run_summary(params, layout.report())


if __name__ == "__main__":
    main()
