"""DVC stage `report`: every step's results (results/train, results/evaluate/<ds>,
results/identifier/<ds>, results/reid, results/cluster) -> results/report.html, one
self-contained page that opens offline."""

from geoloc.entry import stage_command
from geoloc.report import run_report


@stage_command()
def main(params, layout):
    """Build the report of whatever results exist."""
    run_report(params, layout.report())


if __name__ == "__main__":
    main()
