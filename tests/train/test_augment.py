import itertools

import pytest
import torch

from cvsr.ops import warp_ref
from cvsr.train.augment import Dihedral

ALL = [Dihedral(*bits) for bits in itertools.product((False, True), repeat=3)]


@pytest.mark.parametrize("aug", ALL, ids=str)
def test_warp_commutes_with_augmentation(aug):
    gen = torch.Generator().manual_seed(0)
    ref = torch.rand(1, 3, 12, 17, generator=gen)
    # Fractional flow, kept inside the frame so border handling plays no part.
    flow = (torch.rand(1, 12, 17, 2, generator=gen) - 0.5) * 3
    ys, xs = torch.meshgrid(torch.arange(12.0), torch.arange(17.0), indexing="ij")
    flow[..., 0] = (xs + flow[..., 0]).clamp(0, 16) - xs
    flow[..., 1] = (ys + flow[..., 1]).clamp(0, 11) - ys
    expected = aug.image(warp_ref(ref, flow))
    got = warp_ref(aug.image(ref).contiguous(), aug.flow(flow).contiguous())
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_flow_of_a_shift_is_shifted():
    # A pure shift right by 2 (flow (-2, 0)) becomes a shift down after a transpose, (0, -2).
    flow = torch.zeros(4, 6, 2)
    flow[..., 0] = -2
    out = Dihedral(transpose=True).flow(flow)
    assert out.shape == (6, 4, 2)
    assert torch.all(out[..., 0] == 0) and torch.all(out[..., 1] == -2)
    assert torch.all(Dihedral(hflip=True).flow(flow)[..., 0] == 2)


def test_masks_follow_images():
    mask = torch.zeros(1, 5, 7, dtype=torch.bool)
    mask[0, 1, 2] = True
    img = mask.float()
    for aug in ALL:
        assert torch.equal(aug.image(mask), aug.image(img).bool())
