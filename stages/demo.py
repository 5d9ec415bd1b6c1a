"""DVC stage `demo`: params `demo` + `data.datasets` -> the built-in virtual-species archive
(data/raw/demo.zip), its photos (data/raw/demo_images/) and the truth (data/raw/demo_truth.parquet)."""

from geoloc.entry import stage_command
from geoloc.sim import run_demo


@stage_command()
def main(params, layout):
    """Simulate the demo archive from the `demo:` section, one species group per dataset."""
    run_demo(params, layout.demo())


if __name__ == "__main__":
    main()
