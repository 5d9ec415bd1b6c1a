"""DVC stage `filter`: data.archive -> data/filtered/<dataset>.parquet + report.json."""

from geoloc.entry import stage_command
from geoloc.gbif import run_filter


@stage_command()
def main(params, layout):
    """Filter the archive named by data.archive with the rules in the `data:` section."""
    run_filter(params, layout.filter(params.data.archive))


if __name__ == "__main__":
    main()
