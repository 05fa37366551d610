"""The app module: found by `ganforge`, its demo section, a CLI round trip."""

import json

import pytest

from ganforge.apps.cli import main
from ganforge.apps.domains import installed_domains


def test_the_command_group_is_found():
    assert "imitation" in installed_domains()


@pytest.mark.slow
def test_demo_section_learns_and_draws_the_curve(tmp_path):
    from ganforge.apps.imitation import demo

    section = demo(tmp_path)
    metrics = section.metrics
    gail = next(v for k, v in metrics.items() if k.startswith("GAIL return"))
    assert gail > metrics["random return"] + 50
    assert "learning curve" in section.figures
    assert (tmp_path / "gail.pt").is_file() and (tmp_path / "demos.npz").is_file()


def test_train_then_evaluate_on_the_command_line(tmp_path):
    from ganforge.imitation import collect_demos

    from .conftest import cartpole_controller

    demos = collect_demos(cartpole_controller, "CartPole-v1", 2, seed=3, horizon=30)
    demos.save(tmp_path / "demos.npz")
    model, out = tmp_path / "gail.pt", tmp_path / "eval.json"
    common = ["--demos", str(tmp_path / "demos.npz")]
    train = ["imitation", "train", *common, "--out", str(model), "--no-progress"]
    assert main([*train, "--total-steps", "240", "--n-envs", "2", "--hidden", "8"]) == 0
    evaluate = ["imitation", "evaluate", *common, "--model", str(model), "--out", str(out)]
    assert main([*evaluate, "--episodes", "4", "--report", str(tmp_path / "r.html")]) == 0
    result = json.loads(out.read_text())
    assert result["expert_return"] == 30.0 and result["env_steps"] == 240
    assert result["bc_return"] <= 30.0 and result["horizon"] == 30
    assert (tmp_path / "r.html").stat().st_size > 10_000  # the learning curve is in it
