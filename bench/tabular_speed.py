"""Opacus overhead: rows per second of DP training against the same model without DP.

Both runs train the same TabularGAN (the synthesizer's default recipe: the
conditional vector and the two-way marginals' loss) on the encoded `fair`
table for the same number of iterations in the same process; the ratio (DP /
non-DP rows per second) is the figure. Under DP the discriminator's per-row
clipping is Opacus' ghost clipping (per-row gradient norms from activations and
output gradients, then a reweighted backward pass), so no per-row gradient is
materialised. Writes bench/results/tabular_speed.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.core.files import write_json
from ganforge.core.training import Trainer, TrainerConfig
from ganforge.tabular import (
    ConditionalSampler,
    DataTransformer,
    PairwiseMarginals,
    PoissonBatches,
    TabularGAN,
    fair_schema,
    load_fair,
)
from ganforge.tabular.model import DPConfig

RESULTS = Path(__file__).parent / "results" / "tabular_speed.json"
ITERATIONS, BATCH = 300, 256


def rows_per_second(dp: bool, rows: torch.Tensor, transformer: DataTransformer) -> float:
    q = BATCH / len(rows)
    dp_config = DPConfig(1.0, 1.0, q, BATCH, 1e9, 1e-5) if dp else None
    layout, rng = transformer.categorical_layout(), np.random.default_rng(0)
    module = TabularGAN(
        transformer.spans,
        BATCH,
        dp=dp_config,
        conditional=ConditionalSampler.fit(rows.numpy(), layout, None, rng),
        pairs=PairwiseMarginals.fit(rows.numpy(), layout, None, rng),
        pair_weight=10.0,
    )
    data = PoissonBatches(rows, q) if dp else rows
    config = TrainerConfig(
        iterations=ITERATIONS, batch_size=BATCH, device="cpu", progress=False, tensorboard=False
    )
    trainer = Trainer(module, config)
    start = time.perf_counter()
    trainer.fit(data)
    return ITERATIONS * BATCH / (time.perf_counter() - start)


def main() -> None:
    torch.set_num_threads(1)
    table = load_fair()
    transformer = DataTransformer.fit(table, fair_schema(), epsilon=0.0)
    rows = torch.from_numpy(transformer.transform(table))
    plain = rows_per_second(False, rows, transformer)
    private = rows_per_second(True, rows, transformer)
    result = {
        "config": {
            "iterations": ITERATIONS,
            "batch_size": BATCH,
            "threads": 1,
            "rows": len(rows),
            "encoded_width": transformer.output_dim,
            "recipe": "conditional vector + two-way marginals loss (synthesizer default)",
            "dp_clipping": "Opacus ghost clipping (GradSampleModuleFastGradientClipping)",
        },
        "rows_per_second_no_dp": plain,
        "rows_per_second_dp": private,
        "dp_over_no_dp": private / plain,
        "target_ratio": 0.3,
    }
    write_json(RESULTS, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
