"""`geoloc bench`: benchmarks on real reference data (`geoloc bench disdat`)."""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error


def _names(values: tuple[str, ...]) -> list[str]:
    """Accept both `--sets env --sets env+rff` and `--sets env,env+rff`."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@click.group()
def bench():
    """Benchmarks on real reference data."""


@bench.command("disdat")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder with one sub-folder per region (train_po/train_bg/test_pa.parquet) and "
    "metadata.json.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder: per_species.csv, summary.csv, table.md, timings.csv, auc.html, "
    "metrics.json.",
)
@click.option("--regions", multiple=True, help="Regions to run (default: every region folder).")
@click.option(
    "--sets",
    multiple=True,
    help="Covariate sets: env, coords, sh, rff, geoclip, trained, landscape, env+<embedding> (k PCs "
    "appended), or env+effort:<embedding> (a sampling-effort covariate held constant when "
    "predicting; per-species learners only) (default: env+landscape, the chosen configuration).",
)
@click.option(
    "--learners",
    multiple=True,
    help="Learners: logistic, rf_downsampled, mlp, maxent, an_full, with options as "
    "name:key=value (maxent:seeds=3), or an ensemble of ranks such as maxent+rf_downsampled, "
    "weighted as 0.6*maxent+0.4*rf_downsampled (default: the chosen configuration "
    "maxent:seeds=3+rf_downsampled:n_estimators=500 and its two members).",
)
@click.option(
    "--background",
    "backgrounds",
    multiple=True,
    help="target_group (a species' background: the records of its survey group), "
    "taxon_group (of every survey group of its taxon: NSW's groups pooled as DeepMaxent's code "
    "does) or random (the region's random background points); several run side by side "
    "(default: target_group).",
)
@click.option(
    "--pcs",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    help="Principal components kept of an embedding in env+<embedding>.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seeds the forests, MLPs, random features and encoder training.",
)
@click.option(
    "--cv",
    "cv_folds",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Score by spatial-block cross-validation on the training records (this many folds of "
    "blocks a tenth of the records' extent; held-out record sites of the species' group as "
    "presences and absences) instead of on the survey sites: how a configuration is chosen "
    "without seeing the test data. 0: score the survey sites.",
)
@click.option("--device", default="cpu", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(min=0),
    help="torch CPU threads (0: torch's default). The fits are small; one thread avoids "
    "oversubscribing a shared machine.",
)
@exit_on_user_error
def disdat(
    data_dir, out_dir, regions, sets, learners, backgrounds, pcs, seed, cv_folds, device, threads
):
    """The NCEAS presence-only / presence-absence benchmark (Elith et al. 2020).

    Per species: fit on its presence records against a background, predict the survey sites of
    its group, AUC where it was surveyed. Prints the mean AUC per region and configuration
    (covariate set x learner x background), and writes the tables, paired differences and
    figure to --out.
    """
    from geoloc.bench.disdat import (
        DEFAULT_BACKGROUNDS,
        DEFAULT_LEARNERS,
        DEFAULT_SETS,
        DisdatOptions,
        auc_table,
        markdown_table,
        run_benchmark,
    )
    from geoloc.runtime import resolve_device

    resolve_device(device)
    run = run_benchmark(
        data_dir,
        out_dir,
        regions=_names(regions) or None,
        covariate_sets=_names(sets) or DEFAULT_SETS,
        learners=_names(learners) or DEFAULT_LEARNERS,
        options=DisdatOptions(pcs=pcs, seed=seed),
        device=device,
        threads=threads or None,
        backgrounds=_names(backgrounds) or DEFAULT_BACKGROUNDS,
        cv_folds=cv_folds,
    )
    if cv_folds:
        click.echo(f"spatial-block cross-validation on the training records, {cv_folds} folds")
    click.echo(markdown_table(auc_table(run.summary)), nl=False)
    click.echo(
        f"{run.metrics['species']} species in {run.metrics['runtime_s']:.0f} s; outputs in {out_dir}"
    )


@bench.command("disdat-convert")
@click.option(
    "--rds",
    "rds_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="The disdat R package's inst/extdata folder (<REGION>train_po.rds, ...).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder: one sub-folder of Parquet tables per region and metadata.json.",
)
@click.option("--regions", multiple=True, help="Regions to convert (default: every region).")
@click.option("--source", default="", help="Where the files came from, kept in metadata.json.")
@exit_on_user_error
def disdat_convert(rds_dir, out_dir, regions, source):
    """Convert the disdat package's .rds files to the layout `geoloc bench disdat` reads."""
    from geoloc.bench.disdat.convert import convert_disdat

    meta = convert_disdat(
        rds_dir, out_dir, _names(regions) or None, {"source": source} if source else None
    )
    for name, region in meta["regions"].items():
        rows = ", ".join(f"{table} {n}" for table, n in region["rows"].items())
        click.echo(f"{name}: {len(region['groups'])} group(s), {rows}")
