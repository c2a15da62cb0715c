"""The models `storefront evaluate` compares, by name, and the parameters the shop trains with.

Every model here keeps the contract of base.Recommender; tests/unit/test_recommender_models.py
runs that contract over each name in MODEL_NAMES.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recommender.base import Recommender
from recommender.blend import BlendParams
from recommender.ease import EASERecommender
from recommender.hybrid import LightFMParams, LightFMRecommender
from recommender.knn import ItemKNNRecommender, KNNParams
from recommender.models import ALSParams, ALSRecommender, BPRParams, BPRRecommender
from recommender.popularity import PopularityRecommender

MODEL_NAMES = (
    "popularity",
    "popularity_country",
    "popularity_recent",
    "als",
    "bpr",
    "lightfm",
    "item_knn",
    "ease",
)


@dataclass(frozen=True)
class ShopParams:
    """What the shop trains and serves with (defaults, or what `storefront tune` published)."""

    als: ALSParams = field(default_factory=ALSParams)
    knn: KNNParams = field(default_factory=KNNParams)
    blend: BlendParams = field(default_factory=BlendParams)
    trending_days: int = 30

    def as_dict(self) -> dict:
        return {
            "als": self.als.as_dict(),
            "knn": self.knn.as_dict(),
            "blend": self.blend.as_dict(),
            "trending_days": self.trending_days,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ShopParams:
        return cls(
            ALSParams(**data.get("als", {})),
            KNNParams(**data.get("knn", {})),
            BlendParams(**data.get("blend", {})),
            int(data.get("trending_days", 30)),
        )


def make_model(name: str, shop: ShopParams | None = None) -> Recommender:
    shop = shop or ShopParams()
    if name == "popularity":
        return PopularityRecommender("overall")
    if name == "popularity_country":
        return PopularityRecommender("country")
    if name == "popularity_recent":
        return PopularityRecommender("recent", days=shop.trending_days)
    if name == "als":
        return ALSRecommender(shop.als)
    if name == "bpr":
        return BPRRecommender(BPRParams())
    if name == "lightfm":
        return LightFMRecommender(LightFMParams())
    if name == "item_knn":
        return ItemKNNRecommender(shop.knn)
    if name == "ease":
        return EASERecommender()
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
