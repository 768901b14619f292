"""Minutia Cylinder-Code matching (after Cappelli, Ferrara, Maltoni 2010), in NumPy.

Each minutia gets a cylinder: a grid of ``NS x NS`` cells around it, in its own
frame (so rotation and translation invariant), times ``ND`` direction sections;
a cell says how many neighbours sit near it with a given relative direction.
Two prints are compared by the similarities of their cylinders (one matrix
product), the best pairs are relaxed by their geometric consistency (LSS-R),
and the score is the mean relaxed similarity of the best pairs, in [0, 1].

The parameters are those of model v3 (``bench/bench_finger_mcc.py`` measured them
on FVC2002 DB1-4_B against v2's: narrower, softer cells and fewer relaxed pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fortify.modalities.finger.minutiae import Minutiae

F32 = npt.NDArray[np.float32]

R = 70.0  # cylinder radius (px at 500 ppi)
NS = 16  # cells along the diameter
ND = 6  # direction sections
SIGMA_D = 2 * np.pi / 36
MU_PSI = 0.01
MIN_NEIGHBOURS = 2
MAX_ANGLE = np.pi / 2  # cylinders of minutiae this far apart in direction never match
MIN_NP, MAX_NP, MU_P, TAU_P = 4, 12, 20.0, 0.4
W_R, ITERATIONS = 0.5, 5
MU1, TAU1, MU2, TAU2, MU3, TAU3 = 5.0, -1.6, np.pi / 12, -30.0, np.pi / 12, -30.0

_DS = 2 * R / NS
_IDX = (np.arange(NS, dtype=np.float32) - (NS - 1) / 2) * _DS
_CX, _CY = np.meshgrid(_IDX, _IDX)  # cell centres in the minutia frame
_INSIDE = (np.hypot(_CX, _CY) <= R).reshape(-1)
CELL_X = _CX.reshape(-1)[_INSIDE].astype(np.float32)
CELL_Y = _CY.reshape(-1)[_INSIDE].astype(np.float32)
_DD = 2 * np.pi / ND
_DIRS = (-np.pi + (np.arange(ND) + 0.5) * _DD).astype(np.float32)


@dataclass(frozen=True)
class Params:
    """The MCC settings that differ between model versions (defaults: v3)."""

    sigma_s: float = 7.0
    """Spread of a neighbour's contribution over the cells (px); v2: 28 / 3."""
    tau_psi: float = 200.0
    """Steepness of a cell's saturation (sigmoid of its contribution); v2: 400."""
    n_rel: int = 20
    """Best cylinder pairs taken into the relaxation; v2: 30."""


V3 = Params()
V2 = Params(sigma_s=28.0 / 3.0, tau_psi=400.0, n_rel=30)


def _dphi(a: F32, b: F32 | float) -> F32:
    """Signed angle difference a - b wrapped to [-pi, pi)."""
    d = np.mod(np.asarray(a) - b + np.pi, 2 * np.pi) - np.pi
    return np.asarray(d, np.float32)


@dataclass(frozen=True)
class Cylinders:
    """The cylinders of one print: ``codes`` (n x cells) with unit-free norms."""

    codes: F32
    norms: F32
    valid: npt.NDArray[np.bool_]
    x: F32
    y: F32
    angle: F32

    def __len__(self) -> int:
        return int(self.codes.shape[0])


def cylinders(m: Minutiae, p: Params = V3) -> Cylinders:
    """Cylinders of every minutia (invalid ones: fewer than 2 neighbours)."""
    n = len(m)
    x, y, a = m.x.astype(np.float32), m.y.astype(np.float32), m.angle.astype(np.float32)
    ncell = CELL_X.shape[0]
    if n == 0:
        z = np.zeros((0, ncell * ND), np.float32)
        return Cylinders(z, np.zeros(0, np.float32), np.zeros(0, bool), x, y, a)
    cos, sin = np.cos(a), np.sin(a)
    # cell centres in image coordinates: (n, cells)
    px = x[:, None] + cos[:, None] * CELL_X[None, :] - sin[:, None] * CELL_Y[None, :]
    py = y[:, None] + sin[:, None] * CELL_X[None, :] + cos[:, None] * CELL_Y[None, :]
    # spatial contribution of neighbour t to cell c of minutia i: (n, cells, n)
    dx = px[:, :, None] - x[None, None, :]
    dy = py[:, :, None] - y[None, None, :]
    d2 = dx * dx + dy * dy
    cs = np.exp(-d2 / (2 * p.sigma_s**2)).astype(np.float32)
    cs[d2 > (3 * p.sigma_s) ** 2] = 0.0
    idx = np.arange(n)
    cs[idx, :, idx] = 0.0  # a minutia is not its own neighbour
    # directional contribution: (n, n, ND)
    rel = _dphi(a[None, :], a[:, None])  # theta_t - theta_i
    dd = _dphi(_DIRS[None, None, :], rel[:, :, None])
    cd = (np.exp(-(dd**2) / (2 * SIGMA_D**2)) * _DD / (np.sqrt(2 * np.pi) * SIGMA_D)).astype(
        np.float32
    )
    v = np.einsum("icn,ink->ick", cs, cd, optimize=True)
    psi = 1.0 / (1.0 + np.exp(-p.tau_psi * (v - MU_PSI)))
    codes = psi.reshape(n, -1).astype(np.float32)
    near = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= R + 3 * p.sigma_s
    valid = (near.sum(axis=1) - 1) >= MIN_NEIGHBOURS
    codes[~valid] = 0.0
    return Cylinders(codes, np.linalg.norm(codes, axis=1).astype(np.float32), valid, x, y, a)


def local_similarity(a: Cylinders, b: Cylinders) -> F32:
    """(na, nb) matrix of cylinder similarities 1 - |ca - cb| / (|ca| + |cb|)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    dot = a.codes @ b.codes.T
    na, nb = a.norms[:, None], b.norms[None, :]
    dist = np.sqrt(np.maximum(na * na + nb * nb - 2 * dot, 0.0))
    denom = na + nb
    sim = np.where(denom > 0, 1.0 - dist / np.maximum(denom, 1e-9), 0.0)
    ok = a.valid[:, None] & b.valid[None, :]
    ok &= np.abs(_dphi(a.angle[:, None], b.angle[None, :])) <= MAX_ANGLE
    return np.where(ok, sim, 0.0).astype(np.float32)


def _sigmoid(v: F32, mu: float, tau: float) -> F32:
    return np.asarray(1.0 / (1.0 + np.exp(np.clip(-tau * (v - mu), -60, 60))), np.float32)


def n_pairs(na: int, nb: int) -> int:
    s = 1.0 / (1.0 + np.exp(-TAU_P * (min(na, nb) - MU_P)))
    return int(MIN_NP + round(s * (MAX_NP - MIN_NP)))


def score(a: Cylinders, b: Cylinders, p: Params = V3) -> float:
    """Global similarity in [0, 1]: LSS with relaxation (geometric consistency)."""
    sim = local_similarity(a, b)
    if sim.size == 0:
        return 0.0
    flat = sim.reshape(-1)
    nr = min(p.n_rel, int(np.count_nonzero(flat)))
    npairs = n_pairs(len(a), len(b))
    if nr < 2:
        return 0.0
    top = np.argpartition(-flat, nr - 1)[:nr]
    ia, ib = np.unravel_index(top, sim.shape)
    lam = flat[top].astype(np.float32)
    xa, ya, ta = a.x[ia], a.y[ia], a.angle[ia]
    xb, yb, tb = b.x[ib], b.y[ib], b.angle[ib]
    da = np.hypot(xa[:, None] - xa[None, :], ya[:, None] - ya[None, :])
    db = np.hypot(xb[:, None] - xb[None, :], yb[:, None] - yb[None, :])
    d1 = np.abs(da - db)
    d2 = np.abs(_dphi(_dphi(ta[:, None], ta[None, :]), _dphi(tb[:, None], tb[None, :])))
    ra = _dphi(ta[:, None], np.arctan2(ya[None, :] - ya[:, None], xa[None, :] - xa[:, None]))
    rb = _dphi(tb[:, None], np.arctan2(yb[None, :] - yb[:, None], xb[None, :] - xb[:, None]))
    d3 = np.abs(_dphi(ra, rb))
    rho = _sigmoid(d1, MU1, TAU1) * _sigmoid(d2, MU2, TAU2) * _sigmoid(d3, MU3, TAU3)
    same = (ia[:, None] == ia[None, :]) | (ib[:, None] == ib[None, :])
    rho[same] = 0.0
    cur = lam.copy()
    for _ in range(ITERATIONS):
        cur = (W_R * cur + (1 - W_R) * (rho @ cur) / (nr - 1)).astype(np.float32)
    eff = cur / np.maximum(lam, 1e-9)
    best = np.argsort(-eff)[: min(npairs, nr)]
    return float(np.mean(cur[best]))


CYLINDER_DIM = int(CELL_X.shape[0] * ND)
