"""The size accounting of `seedcc report` (seedcc/sizes.py, docs/sizes.md), one test per
formula on architectures small enough to count by hand."""

from __future__ import annotations

from onnx import TensorProto, helper

from seedcc.flow import compile_model
from seedcc.models import ModelBuilder, hidden_fold_cnn
from seedcc.rtl_models.hwconfig import SMALL
from seedcc.sizes import size_breakdown


def one_conv(**weight_kw):
    """16 -> 32 channels, 3x3: W = 32*16*9 = 4608 weights."""
    b = ModelBuilder("one_conv", seed=5)
    y = b.node("Relu", [b.batchnorm(b.conv("x", 16, 32, 3, "c", **weight_kw), 32, "bn")], "relu")
    return b.build([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16, 6, 6])],
                   [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N", 32, 6, 6])])


def sizes(model):
    return size_breakdown(compile_model(model, config=SMALL).program.manifest)


def test_binary_layer():
    """fp32 4·4608 = 18432 B; stored weights + 1-bit mask 18432 + 576 = 19008 B; mask 4608
    bits = 576 B (32 channels = 2 whole lanes, no padding); 32 records of 8 B = 256 B; 2 lane
    start states of 8 B = 16 B; stored 576 + 256 + 16 = 848 B."""
    s = sizes(one_conv())
    assert (s.weights, s.fp32_bytes, s.stored_weights_bytes) == (4608, 18432, 19008)
    assert (s.mask_bits_by_width, s.mask_stored_bytes) == (((1, 4608),), 576)
    assert (s.param_bytes, s.seed_bytes, s.stored_bytes) == (256, 16, 848)
    assert (s.frozen_positions, s.frozen_bits) == (0, 0)


def test_multicoat_codes_cost_their_width():
    """Codes 0..3 need 2 bits: 2·4608 = 9216 mask bits, 1152 B."""
    s = sizes(one_conv(codes=3))
    assert (s.mask_bits_by_width, s.mask_stored_bytes) == (((2, 9216),), 1152)


def test_fold_groups_store_their_mask_once():
    """stem 16·3·9 = 432, the folded block's two convs 16·16·9 = 2304 each (applied 3 times),
    fc 10·16 = 160: 14416 weights (57664 B fp32) but 432 + 2·2304 + 160 = 5200 mask bits.
    Image rows: 27·2 + 2·144·2 + 16·2 = 662 B; records 8·(16 + 6·16 + 10) = 976 B; lane
    states 8·(1 + 6 + 1) = 64 B. Six iterations store the same masks."""
    s3, s6 = sizes(hidden_fold_cnn(iterations=3)), sizes(hidden_fold_cnn(iterations=6))
    assert (s3.weights, s3.fp32_bytes, s3.mask_bits) == (14416, 57664, 5200)
    assert (s3.mask_stored_bytes, s3.param_bytes, s3.seed_bytes) == (662, 976, 64)
    assert s3.stored_weights_bytes == 4 * 5200 + 54 + 288 + 288 + 20
    assert (s6.mask_bits, s6.mask_stored_bytes) == (s3.mask_bits, s3.mask_stored_bytes)
    assert s6.fp32_bytes == 57664 + 3 * 2 * 2304 * 4


def freeze_draws(seed: int, prune: float, lock: float, n: int) -> tuple[int, int]:
    """DESIGN §4's freeze draw, written out: one 16-bit xorshift register, stepped before
    each draw; u < prune·65536 pruned, u >= (1 - lock)·65536 locked. (pruned, locked)."""
    s, pruned, locked = (seed & 0xFFFF) or 1, 0, 0
    for _ in range(n):
        s ^= (s << 7) & 0xFFFF
        s ^= s >> 9
        s ^= (s << 8) & 0xFFFF
        if s < prune * 65536:
            pruned += 1
        elif s >= (1 - lock) * 65536:
            locked += 1
    return pruned, locked


def test_frozen_positions_store_no_mask_bits():
    """A binary layer: only the free positions keep a bit, W - F of them, packed back to back
    (ceil((W - F) / 8) bytes); the freeze registers' start states add 2 B per output channel
    to the seeds: 16 + 2·32 = 80 B."""
    s = sizes(one_conv(freeze={"seed": 77, "prune": 0.3, "lock": 0.1}))
    pruned, locked = freeze_draws(77, 0.3, 0.1, 4608)
    frozen = pruned + locked
    assert 0.35 * 4608 < frozen < 0.45 * 4608  # about 40% of positions are frozen
    assert (s.frozen_positions, s.frozen_bits) == (frozen, frozen)
    assert s.mask_bits_by_width == ((1, 4608 - frozen),)
    assert s.mask_stored_bytes == -(-(4608 - frozen) // 8)
    assert s.seed_bytes == 16 + 2 * 32


def test_frozen_multicoat_layer_stores_locked_codes_that_differ():
    """Codes 0..3 (2 bits) with locked positions of different codes: those keep their code,
    so only the pruned positions are saved: 2·(W - pruned) bits stored."""
    s = sizes(one_conv(codes=3, freeze={"seed": 77, "prune": 0.3, "lock": 0.1}))
    pruned, locked = freeze_draws(77, 0.3, 0.1, 4608)
    assert s.frozen_positions == pruned + locked
    assert s.mask_bits_by_width == ((2, 2 * (4608 - pruned)),)
    assert s.frozen_bits == 2 * pruned
