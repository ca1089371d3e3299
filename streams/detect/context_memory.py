"""The context memory of the contextual detector (CAD OSE), as plain JSON.

A re-implementation of the algorithm of Smirnov's Contextual Anomaly Detector, open
source edition (https://github.com/smirmik/CAD, run by NAB as ``contextOSE`` from
``nab/detectors/context_ose/context_operator.py`` and ``cad_ose.py``), written for this
project's state layout from the algorithm, not from its code (that is AGPL-3.0).

Vocabulary. A *fact* is an int: a sensor fact ``2 · bit position + bit`` of the
quantised value (non-negative), or a neuron fact ``−(context id + 1)``, one of the
contexts that fired on the previous step. A *context* joins a left semi-context (the
facts of the previous step: its sensor facts and its active neurons) to a right
semi-context (sensor facts of the step after it) and counts how often the left half
was seen in full (``sel``, in right facts), how many of the right facts then came
(``hit``) and how often all of them did (``act``). Each step:

1. the *zero-level* context (previous facts → today's sensor facts) is looked up or
   created; created means the step is new to the memory;
2. every context whose left half the previous facts held in full is judged against
   today's sensor facts: ``sel``/``hit``/``act`` grow, and the fully confirmed ones
   are the *active* contexts; where a zero-level context matched only in part, that
   intersection is a potential new context (left halves of at most
   ``max_left`` facts);
3. the ``max_neurons`` most often confirmed active contexts become today's neuron
   facts; the potential contexts are stored;
4. the contexts whose left half today's facts hold in full and whose ``hit / sel`` is
   highest predict tomorrow's sensor facts.

The step returns the share of judged contexts that were *not* confirmed and the share
of potential contexts that were new: the detector's score is their mean.

Layout (every key a string, every value JSON):

- ``L``: left semi-contexts, bucketed by their smallest fact (a neuron fact if they
  hold one, which keeps buckets small): ``{str(first fact): {key: [facts, {right key:
  context}]}}``; a context is ``[id, sel, hit, act, zero-level, last step used]``;
- ``R``: right semi-contexts, ``{key: facts}``;
- ``g``: the previous step's facts; ``p``: the facts it predicts; ``c``: contexts
  held; ``i``: the next context id.

Bounded: beyond ``max_contexts`` the least recently used contexts are dropped (down
to 90 %), with the semi-contexts nobody uses any more. Ids are never reused, so a
neuron fact of a dropped context simply never fires again.
"""

from __future__ import annotations

from typing import Any

Context = list[int]
"""``[id, sel, hit, act, zero-level, last step used]``."""
_ID, _SEL, _HIT, _ACT, _ZERO, _USED = range(6)
Memory = dict[str, Any]


def new_memory() -> Memory:
    """An empty context memory."""
    return {"L": {}, "R": {}, "g": [], "p": [], "c": 0, "i": 0}


def _key(facts: list[int]) -> str:
    return ",".join(map(str, facts))


def _context(
    mem: Memory, left: list[int], right: list[int], zero: bool, step: int
) -> tuple[Context, bool]:
    """The context ``left → right``, created if new; (context, created)."""
    rkey = _key(right)
    if rkey not in mem["R"]:
        mem["R"][rkey] = right
    bucket = mem["L"].setdefault(str(left[0]), {})
    lkey = _key(left)
    semi = bucket.get(lkey)
    if semi is None:
        semi = bucket[lkey] = [left, {}]
    ctx: Context | None = semi[1].get(rkey)
    if ctx is not None:
        return ctx, False
    ctx = [mem["i"], 0, 0, 0, 1 if zero else 0, step]
    semi[1][rkey] = ctx
    mem["i"] += 1
    mem["c"] += 1
    return ctx, True


def _full(mem: Memory, group: list[int], held: set[int]) -> list[list[Any]]:
    """Left semi-contexts all of whose facts ``group`` holds."""
    found = []
    left = mem["L"]
    for fact in group:
        bucket = left.get(str(fact))
        if bucket:
            for semi in bucket.values():
                facts = semi[0]
                for f in facts:
                    if f not in held:
                        break
                else:
                    found.append(semi)
    return found


def _partial(mem: Memory, held: set[int]) -> list[tuple[list[Any], list[int]]]:
    """Every left semi-context sharing a fact with ``held``, with the facts shared."""
    found = []
    for bucket in mem["L"].values():
        for semi in bucket.values():
            shared = [f for f in semi[0] if f in held]
            if shared:
                found.append((semi, shared))
    return found


def step(
    mem: Memory, facts: list[int], at: int, *, max_left: int, max_neurons: int
) -> tuple[float, float]:
    """Learn one step of sorted sensor ``facts``; (share not confirmed, share new).

    ``at`` is the step number (for least-recently-used eviction). ``mem["p"]`` is
    then the sensor facts predicted for the next step.
    """
    prev: list[int] = mem["g"]
    held = set(prev)
    new_id = -1
    fresh = False
    potentials: list[tuple[list[int], list[int]]] = []
    if prev:
        ctx, fresh = _context(mem, prev, facts, True, at)
        if fresh:
            new_id = ctx[_ID]
        else:
            ctx[_ZERO] = 1
    now = set(facts)
    rights = mem["R"]
    right_hits = {k: [f for f in r if f in now] for k, r in rights.items()}
    judged = 0
    active: list[Context] = []
    # A new step: every shared fact matters (potential contexts); else only full matches.
    crossed = _partial(mem, held) if fresh else [(s, s[0]) for s in _full(mem, prev, held)]
    for semi, shared in crossed:
        whole = len(shared) == len(semi[0])
        for rkey, ctx in semi[1].items():
            if ctx[_ID] == new_id:
                continue
            hits = right_hits[rkey]
            if whole:
                judged += 1
                size = len(rights[rkey])
                ctx[_SEL] += size
                ctx[_USED] = at
                if hits:
                    ctx[_HIT] += len(hits)
                    if len(hits) == size:
                        ctx[_ACT] += 1
                        active.append(ctx)
                        continue
                else:
                    continue
            if fresh and ctx[_ZERO] and hits and len(shared) <= max_left:
                potentials.append((shared, hits))
    unconfirmed = 1.0 - (len(active) / judged if judged else 0.0)
    active.sort(key=lambda c: (c[_ACT], c[_ID]))
    neurons = [-(c[_ID] + 1) for c in active[-max_neurons:]]
    group = sorted(set(facts).union(neurons))
    mem["g"] = group
    added = 0
    for left, right in potentials:
        added += _context(mem, left, right, False, at)[1]
    mem["p"] = _predict(mem, group)
    if not fresh:
        return unconfirmed, 0.0
    unique = {(_key(left), _key(right)) for left, right in potentials}
    unique.add((_key(prev), _key(facts)))
    return unconfirmed, (added + 1) / len(unique)


def _predict(mem: Memory, group: list[int]) -> list[int]:
    """Right facts of the most reliable contexts whose left half ``group`` holds."""
    best = 0.0
    chosen: list[str] = []
    for semi in _full(mem, group, set(group)):
        for rkey, ctx in semi[1].items():
            weight = ctx[_HIT] / ctx[_SEL] if ctx[_SEL] else 0.0
            if weight > best:
                best, chosen = weight, [rkey]
            elif weight == best:
                chosen.append(rkey)
    rights = mem["R"]
    return sorted({f for rkey in chosen for f in rights[rkey]})


def evict(mem: Memory, cap: int) -> int:
    """Drop the least recently used contexts down to 90 % of ``cap``; how many went."""
    if mem["c"] <= cap:
        return 0
    keep = int(cap * 0.9)
    stamps = sorted(
        ctx[_USED]
        for bucket in mem["L"].values()
        for semi in bucket.values()
        for ctx in semi[1].values()
    )
    limit = stamps[len(stamps) - keep] if keep else stamps[-1] + 1
    dropped = 0
    used_rights: set[str] = set()
    for fact in list(mem["L"]):
        bucket = mem["L"][fact]
        for lkey in list(bucket):
            contexts = bucket[lkey][1]
            for rkey in list(contexts):
                if contexts[rkey][_USED] < limit:
                    del contexts[rkey]
                    dropped += 1
                else:
                    used_rights.add(rkey)
            if not contexts:
                del bucket[lkey]
        if not bucket:
            del mem["L"][fact]
    for rkey in list(mem["R"]):
        if rkey not in used_rights:
            del mem["R"][rkey]
    mem["c"] -= dropped
    return dropped
