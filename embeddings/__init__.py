"""matchmaker's ranking library: encoders, exact search, lexical/dense/structured fusion, reasons.

It never imports Flask, SQLAlchemy or the app's packages; the app hands it documents and vectors.
"""

from embeddings.config import RankerConfig
from embeddings.documents import Filters, MatchDocument, Reason, Recommendation, embedding_texts
from embeddings.encoders import DEFAULT_ENCODER, Encoder, load_encoder
from embeddings.outcomes import OutcomeReranker, evaluate_reranker
from embeddings.recommender import SideChanges, TwoSidedRecommender
from embeddings.search import Hit, semantic_search
from embeddings.text import normalize, text_hash

__all__ = [
    "DEFAULT_ENCODER", "Encoder", "Filters", "Hit", "MatchDocument", "OutcomeReranker",
    "RankerConfig", "Reason", "Recommendation", "SideChanges", "TwoSidedRecommender", "embedding_texts",
    "evaluate_reranker", "load_encoder", "normalize", "semantic_search", "text_hash",
]
