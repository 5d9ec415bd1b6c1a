"""DVC stage `embed@<ds>`: data/filtered/<ds>.parquet -> data/embeddings/<ds>.h5.

Work in progress is logged under .dvc/tmp/embed/<ds> (not a DVC output, so `dvc repro` does not
delete it before rerunning): an interrupted stage resumes where it stopped. Launched through
`${runtime.launcher}`, so `torchrun --nproc_per_node N` shards the images across N processes.
"""

from geoloc.embed import run_embed
from geoloc.entry import stage_command


@stage_command(per_dataset=True)
def main(params, layout, dataset):
    """Embed one dataset's photos with the backbone named in the `embed:` section."""
    run_embed(params, layout.embed(dataset))


if __name__ == "__main__":
    main()
