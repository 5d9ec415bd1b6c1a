"""DDP on CPU with 2 gloo processes: negatives are gathered across ranks (with gradient), and a
torchrun-style training run keeps both ranks' weights identical, with the presence objective
too."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

from geoloc.train.loss import ContrastiveLoss
from tests.train.train_fixtures import synthetic_observations

pytestmark = pytest.mark.slow
WORLD = 2


def _batch():
    g = torch.Generator().manual_seed(0)
    loc = F.normalize(torch.randn(8, 16, generator=g), dim=1)
    img = F.normalize(torch.randn(8, 16, generator=g), dim=1)
    species = torch.tensor([0, 1, 2, 3, 0, 5, 6, 3])  # same species across the two ranks
    return loc, img, species


def _worker(rank: int, port: int, out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(WORLD),
    )
    torch.set_num_threads(1)
    from geoloc.params import ModelParams, TrainParams
    from geoloc.runtime import distributed
    from geoloc.train import train_location_encoder, train_on_rows
    from geoloc.train.data import ArrayRows

    with distributed(torch.device("cpu")) as ctx:  # joins via the env, as under torchrun
        assert (ctx.rank, ctx.world_size) == (rank, WORLD)
        loc, img, species = _batch()
        half = slice(rank * 4, rank * 4 + 4)
        loc_r = loc[half].clone().requires_grad_()
        img_r = img[half].clone().requires_grad_()
        loss = ContrastiveLoss(temperature=0.2)(loc_r, img_r, species[half])
        loss.backward()

        lat, lon, feat, sp = synthetic_observations(n=300)
        model = ModelParams(pe="sh", legendre=5, hidden=16, dim=8)
        # several block-shuffled buffers a pass: each rank takes its slice of every global batch
        train = TrainParams(epochs=2, batch_size=32, queue=64, chunk_rows=64, buffer_chunks=2)
        result = train_location_encoder(lat, lon, feat, model, train, species_key=sp)
        # the presence loss on each rank's rows, added to the gathered contrastive loss
        both = train.model_copy(update={"objective": "both", "presence_loss": "an_full"})
        with_presence = train_on_rows(ArrayRows(lat, lon, feat, sp), model, both, groups=sp % 2)
    torch.save(
        {
            "loss": loss.detach(),
            "grad_loc": loc_r.grad,
            "grad_img": img_r.grad,
            "state": result.encoder.state_dict(),
            "state_both": with_presence.encoder.state_dict(),
            "n_train": result.metrics["n_train"],
        },
        os.path.join(out_dir, f"rank{rank}.pt"),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_gather_negatives_and_stay_in_sync(tmp_path):
    # fork: the children reuse the imported torch instead of importing it again (seconds)
    mp.start_processes(
        _worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, start_method="fork"
    )
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]

    # one process holding the whole global batch
    loc, img, species = _batch()
    loc.requires_grad_()
    img.requires_grad_()
    full = ContrastiveLoss(temperature=0.2)(loc, img, species)
    full.backward()
    torch.testing.assert_close(sum(r["loss"] for r in ranks) / WORLD, full.detach())
    # each rank's input gradient is WORLD x its slice of the full-batch gradient (DDP averages)
    grad_loc = torch.cat([r["grad_loc"] for r in ranks]) / WORLD
    grad_img = torch.cat([r["grad_img"] for r in ranks]) / WORLD
    torch.testing.assert_close(grad_loc, loc.grad)
    torch.testing.assert_close(grad_img, img.grad)

    for state in ("state", "state_both"):
        a, b = ranks[0][state], ranks[1][state]
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
