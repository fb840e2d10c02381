"""Appendix: predicting on-time reward delivery in crowdfunding (Tran, dissertation Ch. 3).

* :mod:`.data` -- projects, rewards and timed events; the planted generator; the CSV loader.
* :mod:`.semantic` -- semantic reward clustering (Sec. 3.3.1): SPPMI word vectors, k-means
  with the BIC of Eq. (3.1), reward vectors, reward clusters, backer-weighted features.
* :mod:`.features` -- the time points TP1-TP4 and the feature table of each (Table 3.1).
* :mod:`.predict` -- on-time vs late classification and delivery-duration regression
  (Sec. 3.4-3.5) with honest baselines, cross-validated metrics and feature importance.
"""

from recsys_book.crowdfunding.data import (
    CrowdfundingData,
    load_crowdfunding_csv,
    planted_crowdfunding,
    save_crowdfunding_csv,
)

__all__ = [
    "CrowdfundingData",
    "load_crowdfunding_csv",
    "planted_crowdfunding",
    "save_crowdfunding_csv",
]
