"""`ganforge tabular fit | sample | evaluate`: DP synthetic tables, CSV in and out."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from ganforge.apps.common import (
    add_command_group,
    add_device_option,
    add_progress_option,
    add_run_options,
    merge_options,
    nonnegative_int,
    output_file,
    positive_int,
    read_json_object,
    run_options,
    write_csv,
)
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import add_spec_options, spec_fields
from ganforge.core.modelfile import load_model
from ganforge.core.report import ReportSection, loss_curves_figure
from ganforge.core.training.distributed import resolve_device
from ganforge.tabular import (
    DPTabularGAN,
    SynthConfig,
    as_column_spec,
    evaluate,
    fair_schema,
    load_fair,
    load_sklearn_table,
    read_table,
    sklearn_schema,
)
from ganforge.tabular.star import KIND as MARGINALS_KIND
from ganforge.tabular.star import MarginalSynthesizer

DATASETS = ("fair", "breast_cancer", "wine", "iris", "diabetes")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge tabular` group with fit, sample and evaluate."""
    add_command_group(
        subparsers,
        "tabular",
        help="differentially private tabular synthesis (DP-GAN with Opacus)",
        description="Fit a DP synthesizer on a CSV table, sample synthetic rows, evaluate them.",
        commands=(_add_fit, _add_sample, _add_evaluate),
    )


def _add_fit(commands: argparse._SubParsersAction) -> None:
    fit = commands.add_parser(
        "fit",
        help="train a synthesizer on a CSV table",
        description="Train a DP tabular GAN; writes one model file.",
    )
    source = fit.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="CSV file of the private table")
    source.add_argument(
        "--dataset",
        choices=DATASETS,
        help="an embedded table with its public codebook as schema (fair: the survey's "
        "answer codes; the scikit-learn tables: the class codes of a classification target)",
    )
    fit.add_argument("--out", type=output_file, required=True, help="model file to write (.pt)")
    fit.add_argument(
        "--schema",
        type=Path,
        help="JSON {column: {kind, categories, lower, upper, nullable}}: public "
        "facts that cost no privacy budget",
    )
    fit.add_argument(
        "--config",
        type=Path,
        help="JSON of synthesizer options (any of the flags below, with underscores); "
        "flags given on the line override it",
    )
    fit.add_argument(
        "--target",
        help="fit the marginal synthesizer instead of the GAN: one DP release of this "
        "column's cross-tables with every other column, sampled target first (keeps the "
        "target's relationship on small tables; uses --epsilon, --delta, "
        "--statistics-share and --seed)",
    )
    add_progress_option(fit)
    add_spec_options(fit, SynthConfig)
    add_run_options(fit)
    fit.set_defaults(handler=run_fit)


def _add_sample(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample",
        help="write synthetic rows to a CSV file",
        description="Sample rows from a fitted model file.",
    )
    sample.add_argument("--model", type=Path, required=True, help="model file written by fit")
    sample.add_argument("--rows", type=positive_int, required=True, help="number of rows to sample")
    sample.add_argument("--out", type=output_file, required=True, help="CSV file to write")
    sample.add_argument("--seed", type=nonnegative_int, default=None, help="sampling seed")
    add_device_option(sample)
    sample.set_defaults(handler=run_sample)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="utility, quality and privacy of synthetic rows",
        description="TSTR/TRTR, quality scores, DCR and membership-inference "
        "AUCs; writes a JSON report.",
    )
    ev.add_argument("--train", type=Path, required=True, help="CSV of the rows the model saw")
    ev.add_argument("--holdout", type=Path, required=True, help="CSV of real rows it never saw")
    ev.add_argument("--synthetic", type=Path, required=True, help="CSV of synthetic rows")
    ev.add_argument(
        "--target", help="class column for TSTR/TRTR, binary or not (default: no utility)"
    )
    ev.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    ev.set_defaults(handler=run_evaluate)


# ----------------------------------------------------------------- handlers
def _options(arguments: argparse.Namespace) -> dict[str, Any]:
    """The spec's defaults, then the --config file, then the flags given on the line."""
    return merge_options(arguments, spec_fields(SynthConfig), {})


def _table_and_schema(arguments: argparse.Namespace) -> tuple[pd.DataFrame, dict[str, Any]]:
    if arguments.dataset == "fair":
        table, schema = load_fair(), fair_schema()
    elif arguments.dataset is not None:
        table, schema = load_sklearn_table(arguments.dataset), sklearn_schema(arguments.dataset)
    else:
        table, schema = read_table(arguments.data), {}
    if arguments.schema is not None:
        given = read_json_object(arguments.schema, "schema")
        try:
            schema = {name: as_column_spec(name, spec) for name, spec in given.items()}
        except ValueError as error:
            raise UsageError(f"bad column spec in {arguments.schema}: {error}") from None
    return table, schema


MARGINAL_OPTIONS = ("epsilon", "delta", "statistics_share", "seed")


def _fit_marginals(arguments: argparse.Namespace, options: dict[str, Any]) -> int:
    settings = {k: options[k] for k in MARGINAL_OPTIONS if k in options}
    try:
        synth = MarginalSynthesizer(arguments.target, **settings)
    except ValueError as error:
        raise UsageError(str(error)) from None
    table, schema = _table_and_schema(arguments)
    synth.schema = schema
    synth.fit(table)
    synth.save(arguments.out)
    print(f"wrote {arguments.out}: {synth.privacy.describe()}")
    return 0


def run_fit(arguments: argparse.Namespace) -> int:
    options = _options(arguments)
    if arguments.target is not None:
        return _fit_marginals(arguments, options)
    run = run_options(arguments)
    synth = DPTabularGAN(schema={}, **options)  # the settings, checked before any data is read
    table, schema = _table_and_schema(arguments)
    synth.schema = schema
    synth.fit(
        table,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    synth.save(arguments.out)
    print(f"wrote {arguments.out}: {synth.privacy.describe()}")
    return 0


def run_sample(arguments: argparse.Namespace) -> int:
    resolve_device(arguments.device)  # a bad --device is refused before the file is read
    file = load_model(arguments.model, (MARGINALS_KIND, DPTabularGAN.kind))  # read once
    if file.kind == MARGINALS_KIND:
        synth = MarginalSynthesizer.from_model_file(file, arguments.model)
    else:
        synth = DPTabularGAN.from_model_file(file, arguments.model, device=arguments.device)
    write_csv(synth.sample(arguments.rows, seed=arguments.seed), arguments.out)
    print(f"wrote {arguments.rows} rows to {arguments.out}")
    return 0


def run_evaluate(arguments: argparse.Namespace) -> int:
    frames = [read_table(p) for p in (arguments.train, arguments.holdout, arguments.synthetic)]
    report = evaluate(*frames, target=arguments.target, out_path=arguments.out)
    summary = {
        "quality_score": round(report["quality"]["quality_score"], 3),
        "mia_auc_max": round(report["privacy"]["mia_auc_max"], 3),
    }
    if "utility" in report:
        summary["tstr_over_trtr"] = round(report["utility"]["tstr_over_trtr"], 3)
    print(f"wrote {arguments.out}: {summary}")
    return 0


# --------------------------------------------------------------------- demo
def demo(out_dir: Path) -> ReportSection:
    """A short DP run (epsilon = 3) on the embedded `fair` table, evaluated on a held-out split."""
    from sklearn.model_selection import train_test_split

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = load_fair()
    train, holdout = train_test_split(
        table, test_size=0.3, stratify=table["affair"], random_state=0
    )
    synth = DPTabularGAN(3.0, schema=fair_schema(), epochs=4, batch_size=256)
    synth.fit(train)
    synth.save(out_dir / "synthesizer.pt")
    synthetic = synth.sample(len(train))
    write_csv(synthetic, out_dir / "synthetic.csv")
    report = evaluate(train, holdout, synthetic, target="affair", out_path=out_dir / "eval.json")
    metrics = {
        "epsilon (total)": round(synth.privacy.epsilon, 4),
        "delta": synth.privacy.delta,
        "DP-SGD steps": synth.privacy.steps,
        "TRTR AUC": round(report["utility"]["trtr_auc"], 3),
        "TSTR AUC": round(report["utility"]["tstr_auc"], 3),
        "quality score": round(report["quality"]["quality_score"], 3),
        "membership-inference AUC": round(report["privacy"]["mia_auc_max"], 3),
    }
    figures = {"losses": loss_curves_figure(synth.history)} if synth.history else {}
    return ReportSection(
        "Tabular: DP-GAN on the fair survey", metrics, figures, text=synth.privacy.describe()
    )
