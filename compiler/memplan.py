"""Activation memory planning: an act SRAM address for every IR value.

FLATTEN and RESHAPE outputs are the same bytes as their input (row-major (C, H, W) is
already flat), so they share its address. Every other value gets a slot that is free
from its producer until its last reader (graph outputs stay live to the end): at either
end of a free gap, choosing the place that leaves the largest gap free, so that
layer-by-layer chains settle into ping-pong buffers instead of fragmenting the SRAM. A
residual ADD writes over an operand it reads for the last time (element-wise, streaming
through the same addresses in order, so reading and writing one buffer is safe). A SPILL's
output lives off chip and takes no place (`OpDef.offchip`; the `spill_activations` pass),
as does a value written in row bands (`bands_out`), whose producer and readers each get a
band buffer (`band_bytes`) live while they run.
"""

from __future__ import annotations

from seedcc.errors import CapacityError
from seedcc.ir import Graph, Node, Op, band_buffer

ALIGN = 16


def _gaps(live: list[tuple[int, int, str]], capacity: int) -> list[tuple[int, int]]:
    """Free [start, end) ranges between the live tensors (starts aligned)."""
    out, cursor = [], 0
    for a, s, _ in sorted(live):
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, -(-(a + s) // ALIGN) * ALIGN)
    if cursor < capacity:
        out.append((cursor, capacity))
    return out


def _candidates(live: list[tuple[int, int, str]], size: int, capacity: int) -> list[int]:
    """Aligned addresses at either end of every free gap that holds `size` bytes."""
    out = []
    for start, end in _gaps(live, capacity):
        if end - start >= size:
            out.append(start)
            top = (end - size) // ALIGN * ALIGN
            if top > start:
                out.append(top)
    return out


def _largest_gap(live: list[tuple[int, int, str]], capacity: int) -> int:
    return max((e - s for s, e in _gaps(live, capacity)), default=0)


def roots(g: Graph) -> dict[str, str]:
    """Value -> the value whose storage it uses."""
    root = {v: v for v in g.values}
    for n in g.nodes:
        if n.op.spec.alias:
            root[n.output] = root[n.inputs[0]]
    return root


def offchip(n: Node) -> bool:
    """Whether the output of `n` lives off chip: a SPILL's, or one written in row bands."""
    return n.op.spec.offchip or "bands_out" in n.attrs


class ActivationsDoNotFit(CapacityError):
    """`plan_activations` found no place for `value` at node `step`, next to `live`."""

    def __init__(self, message: str, value: str, step: int, live: list[str]):
        super().__init__(message)
        self.value, self.step, self.live = value, step, live


def plan_activations(g: Graph, capacity: int) -> dict[str, int]:
    root = roots(g)
    end = len(g.nodes)
    last_use: dict[str, int] = {}
    for i, n in enumerate(g.nodes):
        for v in n.inputs:
            last_use[root[v]] = i
    for v in g.outputs:
        last_use[root[v]] = end
    live: list[tuple[int, int, str]] = []  # (addr, size, value)
    addr: dict[str, int] = {}
    born = {n.output: i for i, n in enumerate(g.nodes)}  # graph inputs: -1

    def place(value: str, step: int, size: int | None = None) -> None:
        live[:] = [(a, s, v) for a, s, v in live if last_use.get(v, -1) >= step]
        size = g.values[value].nbytes if size is None else size
        candidates = [a for a in _candidates(live, size, capacity)]
        if not candidates:
            raise ActivationsDoNotFit(
                f"activation {value!r} ({size} bytes) does not fit the act SRAM ({capacity} bytes) "
                f"next to the {len(live)} live tensors; use a larger act_sram_bytes",
                value, step, [v for _, _, v in live])
        # keep the largest free gap (once this node's last-read inputs are freed) as large as
        # possible: fragmentation is what fails later
        after = [t for t in live if last_use.get(t[2], -1) > step]
        best = max(candidates, key=lambda a: (_largest_gap(after + [(a, size, value)], capacity), -a))
        addr[value] = best
        live.append((best, size, value))

    def in_place(n: Node, step: int) -> bool:
        """An element-wise ADD may write over an operand it reads for the last time: the one
        produced first, so a residual stream stays at one address through its blocks (what
        lets a fold region's iterations run the same instructions)."""
        size = g.values[n.output].nbytes
        for v in sorted(n.inputs, key=lambda v: born.get(root[v], -1)):
            r = root[v]
            if last_use.get(r) == step and g.values[r].nbytes == size:
                live[:] = [t for t in live if t[2] != r]
                addr[n.output] = addr[r]
                live.append((addr[r], size, n.output))
                return True
        return False

    for v in g.inputs:
        place(v, 0)
    for i, n in enumerate(g.nodes):
        if "band_bytes" in n.attrs:  # the node's row-band buffer, live while it runs
            last_use[band_buffer(n)] = i
            place(band_buffer(n), i, n.attrs["band_bytes"])
        if n.op.spec.alias or offchip(n) or (n.op is Op.ADD and in_place(n, i)):
            continue
        place(n.output, i)
    return {v: addr[root[v]] for v in g.values if root[v] in addr} | {
        band_buffer(n): addr[band_buffer(n)] for n in g.nodes if "band_bytes" in n.attrs}


class Arena:
    """Placement in one on-chip SRAM during code generation (mask rows, parameter tables).

    `alloc` puts a buffer at the lowest aligned address after the previous buffer where it
    fits between the live ones, else at the lowest such address from the start: buffers go
    round the SRAM like a ring, so that a layer's region is rarely the one the layer before
    read, and its load can move up into the background (`seedcc.backends.prefetch`).
    With `ring` off every buffer goes at the lowest address that fits, so that a LOOP body's
    iterations place their buffers alike. `release` frees a buffer when its last reader has
    been emitted. `peak` is the most bytes live at once: what the layer schedule needs of
    this SRAM.
    """

    def __init__(self, space: str, capacity: int, align: int = ALIGN):
        self.space, self.capacity, self.align = space, capacity, align
        self.live: dict[int, int] = {}  # address -> size
        self.peak = 0
        self.next = 0  # where the search for the next buffer starts
        self.ring = True  # False: always the lowest address (the iterations of a LOOP body)

    def _fit(self, size: int, start: int) -> int | None:
        at = start
        for a, s in sorted(self.live.items()):
            if a + s <= at:
                continue
            if at + size <= a:
                break
            at = max(at, -(-(a + s) // self.align) * self.align)
        return at if at + size <= self.capacity else None

    def alloc(self, size: int, what: str) -> int:
        at = self._fit(size, self.next) if self.ring else None
        if at is None:
            at = self._fit(size, 0)
        if at is None:
            used = sum(self.live.values())
            raise CapacityError(f"{what} needs {size} bytes of {self.space} SRAM, which holds "
                                f"{self.capacity}" + (f" ({used} in use)" if used else ""))
        self.live[at] = size
        self.next = -(-(at + size) // self.align) * self.align
        self.peak = max(self.peak, sum(self.live.values()))
        return at

    def release(self, addr: int) -> None:
        del self.live[addr]


def activation_peak(g: Graph, plan: dict[str, int]) -> int:
    """The most act SRAM bytes live at once under `plan` (from `plan_activations`), over the
    node schedule: values that share storage (aliases, an ADD written over its operand)
    count once, row-band buffers while their node runs."""
    root = roots(g)
    first, last = {}, {}
    for v in g.inputs:
        first[root[v]] = 0
    for i, n in enumerate(g.nodes):
        if not offchip(n):
            first.setdefault(root[n.output], i)
        for v in n.inputs:
            last[root[v]] = i
    for v in g.outputs:
        last[root[v]] = len(g.nodes)
    size = {r: g.values[r].nbytes for r in first}
    band = [g.nodes[i].attrs.get("band_bytes", 0) if i < len(g.nodes) else 0 for i in range(len(g.nodes) + 1)]

    def live(i: int) -> int:
        at = {plan[r]: size[r] for r in first if first[r] <= i <= last.get(r, first[r])}
        return sum(at.values())
    return max((live(i) + band[i] for i in range(len(g.nodes) + 1)), default=0)
