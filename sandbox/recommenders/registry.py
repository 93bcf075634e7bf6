"""Build a recommendation pipeline from a spec such as 'mf+mmr' or 'pop+fair+inertia'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.recommenders.base import Pipeline, Recommender, ReRanker
from sandbox.recommenders.classic import PopularityRecommender, RandomRecommender
from sandbox.recommenders.din import DINRecommender
from sandbox.recommenders.mf import BPRMatrixFactorisation
from sandbox.recommenders.rerank import FairExposureReRanker, InertiaReRanker, MMRReRanker

BASE_MODELS = ("random", "pop", "mf", "din")
RERANKERS = ("mmr", "fair", "inertia")


@dataclass(frozen=True)
class RecommenderOptions:
    """Knobs of the recommenders and re-rankers."""

    pop_decay: float = 0.8
    mf_dim: int = 16
    mf_epochs: int = 3
    mf_max_pairs: int = 50_000  # BPR triples sampled per retrain (bounds retrain cost at any population size)
    mf_batch: int = 8192
    din_dim: int = 16
    din_epochs: int = 2
    mmr_trade_off: float = 0.5
    fair_strength: float = 1.0
    fair_min_relevance: float = 0.5  # fairness boosts only items in the top half of a user's relevance range
    fair_window: int = 10  # steps of item exposure the fairness deficit is accumulated over
    inertia: float = 0.5
    shortlist: int = 50
    retrieval: int = 500  # candidates scored per block of users when the pool is larger (0 = the whole pool)


def build_pipeline(spec: str, options: RecommenderOptions | None = None) -> Pipeline:
    """'base[+reranker...]' -> Pipeline; unknown names raise ValueError listing the known ones."""
    opts = options or RecommenderOptions()
    base, *rest = [p.strip().lower() for p in spec.split("+")]
    if base not in BASE_MODELS:
        raise ValueError(f"recommender {spec!r}: unknown model {base!r}; choose one of {', '.join(BASE_MODELS)}")
    models: dict[str, Callable[[], Recommender]] = {
              "random": RandomRecommender, "pop": lambda: PopularityRecommender(opts.pop_decay),
              "mf": lambda: BPRMatrixFactorisation(opts.mf_dim, opts.mf_epochs, max_pairs=opts.mf_max_pairs,
                                                    batch=opts.mf_batch),
              "din": lambda: DINRecommender(opts.din_dim, opts.din_epochs)}
    rerankers: list[ReRanker] = []
    for name in rest:
        if name not in RERANKERS:
            raise ValueError(f"recommender {spec!r}: unknown re-ranker {name!r}; choose from {', '.join(RERANKERS)}")
        rerankers.append({"mmr": lambda: MMRReRanker(opts.mmr_trade_off),
                          "fair": lambda: FairExposureReRanker(opts.fair_strength, opts.fair_min_relevance,
                                                               opts.fair_window),
                          "inertia": lambda: InertiaReRanker(opts.inertia)}[name]())
    return Pipeline(models[base](), tuple(rerankers), shortlist=opts.shortlist, retrieval=opts.retrieval)
