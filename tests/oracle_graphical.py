"""Brute-force oracle for discrete graphical models: loop over every configuration.

Independent of the library's factor algebra: each configuration's weight is the product of one
table entry per factor, read with plain indexing inside ``itertools.product``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np


def enumerate_model(factors, card):
    """Return (variables, configurations, weights) for factors given as (variables, table) pairs."""
    variables = list(card)
    configs = list(itertools.product(*[range(card[v]) for v in variables]))
    pos = {v: i for i, v in enumerate(variables)}
    weights = []
    for x in configs:
        w = 1.0
        for vs, table in factors:
            w *= float(table[tuple(x[pos[v]] for v in vs)])
        weights.append(w)
    return variables, configs, np.array(weights)


def log_Z(factors, card):
    _, _, w = enumerate_model(factors, card)
    return math.log(w.sum())


def marginals(factors, card, evidence=None):
    """Single-variable marginals, conditional on ``evidence`` ({variable: state})."""
    variables, configs, w = enumerate_model(factors, card)
    evidence = evidence or {}
    out = {v: np.zeros(card[v]) for v in variables}
    for x, wx in zip(configs, w):
        if any(x[variables.index(v)] != s for v, s in evidence.items()):
            continue
        for i, v in enumerate(variables):
            out[v][x[i]] += wx
    return {v: m / m.sum() for v, m in out.items()}


def pair_marginal(factors, card, a, b):
    variables, configs, w = enumerate_model(factors, card)
    ia, ib = variables.index(a), variables.index(b)
    P = np.zeros((card[a], card[b]))
    for x, wx in zip(configs, w):
        P[x[ia], x[ib]] += wx
    return P / P.sum()


def map_assignment(factors, card, evidence=None):
    """The most probable configuration (as a dict) and log of its unnormalized weight."""
    variables, configs, w = enumerate_model(factors, card)
    evidence = evidence or {}
    best, best_w = None, -1.0
    for x, wx in zip(configs, w):
        if any(x[variables.index(v)] != s for v, s in evidence.items()):
            continue
        if wx > best_w:
            best, best_w = x, wx
    return dict(zip(variables, best)), math.log(best_w)
