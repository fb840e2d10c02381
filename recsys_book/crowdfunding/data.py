"""Crowdfunding projects as three tables, a planted generator and a CSV loader.

Tran, dissertation Ch. 3 (Sections 3.1-3.2). A reward-based crowdfunding project has a
fundraising phase (launch at day 0 up to ``fund_days``) and a reward delivery phase (from
``fund_days`` on). The creator promises a *longest estimated delivery duration* (``ledd_days``,
counted from the end of fundraising, the paper's LEDD); the project is **on time** when every
reward was shipped within it, **late** otherwise.

:class:`CrowdfundingData` holds

* ``projects``: one row per project. Required: ``project_id, category, goal, fund_days,
  ledd_days``. Optional page features known at launch: ``n_images, n_faqs,
  n_bio_sentences, smog_project, smog_bio``. Labels (optional, needed to train):
  ``on_time`` (0/1) and ``delivery_days`` (true delivery duration after fundraising).
* ``rewards``: one row per reward: ``project_id, reward_id, description, price``.
* ``events``: everything that happens at a time, in days since the project's launch:
  ``project_id, day, kind`` (``pledge`` | ``comment`` | ``update``), ``author``
  (``creator`` | ``backer``), ``backer_id`` (-1 for the creator), ``reward_id`` (the pledged
  reward, -1 otherwise), ``is_question`` (a backer's question), ``text``.

Backer counts are *not* stored on the rewards: they are counted from pledge events up to a
time point, so that nothing observed after a time point can reach its features.

Readings we took (the data of the paper, 2,198 labelled Kickstarter projects, is not public):

* The generator plants a **latent difficulty** per reward (easy, medium, hard), visible only
  through the words of its description (word topics per level, as in Fig. 3.5: "thank,
  shirt" easy, "print, book" medium, "film, game" hard); a **diligence** per creator, visible
  through activity during fundraising and delivery; and a **shock** (factory issues,
  unexpected problems, Sec. 3.1) that shows only in the delivery phase (delay words in updates,
  backers' questions). True duration grows with difficulty (backer weighted, Sec. 3.3.1) and
  the number of backers, falls with diligence, grows with the shock; creators estimate LEDD
  from a hunch that under-weights difficulty, so hard projects are late more often.
* Our small word lists (``LEXICONS``) stand in for LIWC categories, which are not free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_book.data.interactions import DataError

PROJECT_REQUIRED = ("project_id", "category", "goal", "fund_days", "ledd_days")
PROJECT_OPTIONAL = ("n_images", "n_faqs", "n_bio_sentences", "smog_project", "smog_bio")
LABELS = ("on_time", "delivery_days")
REWARD_REQUIRED = ("project_id", "reward_id", "description", "price")
EVENT_REQUIRED = ("project_id", "day", "kind", "author")
EVENT_OPTIONAL = {"backer_id": -1, "reward_id": -1, "is_question": False, "text": ""}
KINDS = ("pledge", "comment", "update")
AUTHORS = ("creator", "backer")

#: planted word topics: name -> (difficulty level 0 easy / 1 medium / 2 hard, words)
TOPICS = {
    "thanks": (
        0,
        """thank thanks credit shoutout shoutouts postcard postcards sticker stickers
        wallpaper wallpapers email emails note notes name names website mention mentions letter
        letters handwritten photo photos selfie wall hug karma gratitude appreciation tweet
        tweets facebook newsletter listed supporter supporters heart hearts""",
    ),
    "apparel": (
        0,
        """shirt shirts tee tees tote totes bag bags button buttons badge badges mug
        mugs hat hats pin pins patch patches hoodie hoodies sock socks cap caps keychain
        keychains magnet magnets bandana scarf apron glass glasses bottle bottles coaster""",
    ),
    "print": (
        1,
        """print prints book books signed copy copies poster posters paperback
        hardcover zine zines artbook bookmark bookmarks novel novels chapter chapters comic
        comics illustration illustrations calendar calendars journal journals page pages
        volume volumes sketch sketches portfolio notebook notebooks map""",
    ),
    "music": (
        1,
        """album albums cd cds vinyl record records song songs lyrics download
        downloads soundtrack cassette cassettes songbook ep lp single singles track tracks demo
        demos concert concerts ticket tickets playlist stems sheet score scores recording
        recordings chord chords""",
    ),
    "film": (
        2,
        """film films screening screenings premiere premieres vip producer producers
        dvd dvds bluray cameo cameos trailer trailers movie movies documentary scene scenes set
        visit extra extras role roles actor actors script scripts director directors festival
        screenplay footage cinema""",
    ),
    "game": (
        2,
        """game games board prototype prototypes device devices kit kits hardware
        module modules controller controllers miniature miniatures figure figures dice deck
        decks token tokens robot robots sensor sensors circuit app software console playtest
        expansion expansions chip chips gadget""",
    ),
}
#: words every reward may use, whatever its difficulty
FILLER = "exclusive limited edition special early bird digital deluxe personal pack".split()
#: category -> probabilities of reward difficulty (easy, medium, hard)
CATEGORIES = {
    "dance": (0.75, 0.2, 0.05),
    "theater": (0.7, 0.2, 0.1),
    "art": (0.45, 0.4, 0.15),
    "music": (0.35, 0.5, 0.15),
    "publishing": (0.3, 0.6, 0.1),
    "film": (0.25, 0.25, 0.5),
    "games": (0.15, 0.25, 0.6),
    "technology": (0.1, 0.2, 0.7),
}
#: small word lists standing in for LIWC categories (Sec. 3.3.2)
LEXICONS = {
    "delay": "delay sorry issue problem postpone factory late".split(),
    "progress": "shipped done ready progress finished packed sent".split(),
    "worry": "when refund waiting still status eta".split(),
}
_UPDATE_FILLER = "today team backers week news thanks everyone".split()
_COMMENT_FILLER = "great project love cant wait excited good luck".split()


@dataclass
class CrowdfundingData:
    """Projects, rewards and timed events of crowdfunding projects (see module docstring)."""

    projects: pd.DataFrame
    rewards: pd.DataFrame
    events: pd.DataFrame
    name: str = "crowdfunding"
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"CrowdfundingData({self.name!r}: {len(self.projects)} projects, "
            f"{len(self.rewards)} rewards, {len(self.events)} events)"
        )

    @property
    def has_labels(self) -> bool:
        return all(c in self.projects for c in LABELS)

    def copy(self) -> CrowdfundingData:
        return CrowdfundingData(
            self.projects.copy(),
            self.rewards.copy(),
            self.events.copy(),
            self.name,
            dict(self.meta),
        )


# ---- the planted generator -------------------------------------------------------------------


def _words(rng, pool, k) -> list[str]:
    return [pool[i] for i in rng.integers(len(pool), size=k)]


def planted_crowdfunding(
    n_projects: int = 1200,
    backers_scale: float = 40.0,
    shock_scale: float = 0.45,
    seed: int = 0,
) -> tuple[CrowdfundingData, dict]:
    """Planted crowdfunding projects with a known relation between difficulty and lateness.

    Returns ``(CrowdfundingData, truth)``; truth holds per project ``difficulty`` (backer
    weighted mean reward level, 0-2), ``diligence``, ``shock``, ``expected_late`` (the
    planted probability of being late given every latent), per reward ``reward_level``
    and ``reward_topic``, and per vocabulary word ``word_topic`` (a dict word -> topic name,
    ``"filler"`` for shared words) and ``n_topics``.

    ``backers_scale``: median number of backers; ``shock_scale``: how much of the delay only
    the delivery phase reveals (0 = none).
    """
    if not isinstance(n_projects, (int, np.integer)) or n_projects < 20:
        raise ValueError(f"n_projects must be an int >= 20, got {n_projects!r}")
    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    by_level = {lv: [t for t in topics if TOPICS[t][0] == lv] for lv in (0, 1, 2)}
    topic_words = {t: TOPICS[t][1].split() for t in topics}
    cats = list(CATEGORIES)
    prows, rrows, erows, truth_rows = [], [], [], []
    reward_level, reward_topic = [], []
    rid = 0
    for p in range(n_projects):
        cat = cats[int(rng.integers(len(cats)))]
        diligence = float(rng.normal())
        shock = float(rng.normal())
        n_rw = int(np.clip(2 + rng.poisson(4), 2, 12))
        levels = rng.choice(3, size=n_rw, p=CATEGORIES[cat])
        prices = np.round(np.exp(np.log([10, 30, 80])[levels] + rng.normal(0, 0.4, n_rw)))
        ids = np.arange(rid, rid + n_rw)
        for r, lv in zip(ids, levels):
            topic = by_level[int(lv)][int(rng.integers(2))]
            k = int(rng.integers(3, 8))
            n_fill = int(rng.binomial(k, 0.3))
            words = list(rng.choice(topic_words[topic], size=k - n_fill, replace=False))
            words += list(rng.choice(FILLER, size=n_fill, replace=False))
            rng.shuffle(words)
            rrows.append((p, int(r), " ".join(words), float(prices[r - rid])))
            reward_level.append(int(lv))
            reward_topic.append(topic)
        rid += n_rw
        fund_days = int(rng.choice([30, 30, 30, 45, 60]))
        mean_level = float(levels.mean())
        goal = float(np.round(np.exp(np.log(3000) + 0.5 * mean_level + rng.normal(0, 0.7)), -1))
        # pledges: cheaper rewards are more popular; days U-shaped over the fundraising phase
        n_back = int(rng.poisson(backers_scale * np.exp(rng.normal(0, 0.8) + 0.2 * diligence)))
        n_back = max(n_back, 3)
        pop = 1.0 / prices
        chosen = rng.choice(ids, size=n_back, p=pop / pop.sum())
        pdays = fund_days * rng.beta(0.6, 0.6, n_back)
        erows.extend(
            (p, float(d), "pledge", "backer", b, int(r), False, "")
            for b, (r, d) in enumerate(zip(chosen, pdays))
        )
        # Sec. 3.3.1: difficulty weighted by backers (more backers, more to produce)
        counts = np.bincount(chosen - ids[0], minlength=n_rw)
        difficulty = float((levels * counts).sum() / counts.sum())
        # true duration and the creator's estimate (a hunch that under-weights difficulty)
        mean_true = (
            np.log(35)
            + 0.6 * difficulty
            + 0.15 * np.log1p(n_back / 50)
            - 0.3 * diligence
            + shock_scale * shock
        )
        mean_est = np.log(35) + 0.25 * mean_level + 0.25
        delivery = float(np.exp(mean_true + 0.2 * rng.normal()))
        ledd = int(np.clip(np.round(np.exp(mean_est + 0.3 * rng.normal())), 10, 400))
        on_time = int(delivery <= ledd)
        # P(late | every latent): the two noises are N(0, .2^2) and N(0, .3^2)
        expected_late = 0.5 * (1 + math.erf((mean_true - mean_est) / math.sqrt(2 * 0.13)))
        # fundraising activity: creator updates with diligence, backers' comments
        n_upd = rng.poisson(fund_days * 0.06 * np.exp(0.5 * diligence))
        _updates(rng, erows, p, rng.uniform(0, fund_days, n_upd), 0.0)
        _comments(rng, erows, p, 0.0, fund_days, 0.004 * n_back, diligence, shock, False, n_back)
        # the start of the delivery phase (the first fifth of LEDD, TP4 is at 5 %): updates
        # reveal diligence and the shock, backers ask questions; later activity is not simulated
        end = fund_days + 0.2 * ledd
        n_upd = rng.poisson(0.4 * np.exp(0.6 * diligence) * (end - fund_days))
        p_delay = 1 / (1 + np.exp(-(2.5 * shock - 0.5)))
        _updates(rng, erows, p, rng.uniform(fund_days, end, n_upd), p_delay)
        _comments(rng, erows, p, fund_days, end, 0.02 * n_back, diligence, shock, True, n_back)
        prows.append(
            dict(
                project_id=p,
                category=cat,
                goal=goal,
                fund_days=fund_days,
                ledd_days=ledd,
                n_images=int(rng.poisson(4 * np.exp(0.2 * diligence))),
                n_faqs=int(rng.poisson(1.5 * np.exp(0.3 * diligence))),
                n_bio_sentences=int(1 + rng.poisson(3)),
                smog_project=float(np.round(rng.normal(11, 2), 2)),
                smog_bio=float(np.round(rng.normal(10, 2), 2)),
                on_time=on_time,
                delivery_days=round(delivery, 1),
            )
        )
        truth_rows.append((difficulty, diligence, shock, expected_late))
    projects = pd.DataFrame(prows)
    rewards = pd.DataFrame(rrows, columns=list(REWARD_REQUIRED))
    events = pd.DataFrame(erows, columns=list(EVENT_REQUIRED) + list(EVENT_OPTIONAL))
    events = events.sort_values(["project_id", "day"], kind="stable").reset_index(drop=True)
    tr = np.array(truth_rows)
    word_topic = {w: t for t in topics for w in topic_words[t]}
    word_topic.update({w: "filler" for w in FILLER})
    truth = {
        "difficulty": tr[:, 0],
        "diligence": tr[:, 1],
        "shock": tr[:, 2],
        "expected_late": tr[:, 3],
        "reward_level": np.array(reward_level),
        "reward_topic": np.array(reward_topic),
        "word_topic": word_topic,
        "n_topics": len(topics),
    }
    data = CrowdfundingData(projects, rewards, events, name=f"planted-crowdfunding-{seed}")
    return data, truth


def _texts(rng, pools: list[list[str]], n: int) -> list[str]:
    """n short texts, each joining a few words drawn from every pool in turn."""
    parts = [np.asarray(pool)[rng.integers(len(pool), size=(n, k))] for pool, k in pools]
    rows = np.concatenate(parts, axis=1) if parts else np.empty((n, 0), str)
    return [" ".join(r) for r in rows]


def _updates(rng, erows, p, days, p_delay: float) -> None:
    """Creator updates on ``days``; with probability ``p_delay`` an update speaks of delay."""
    n = len(days)
    delay = rng.random(n) < p_delay
    texts_d = _texts(rng, [(LEXICONS["delay"], 2), (_UPDATE_FILLER, 4)], n)
    texts_p = _texts(rng, [(LEXICONS["progress"], 2), (_UPDATE_FILLER, 4)], n)
    for d, is_d, td, tp in zip(days, delay, texts_d, texts_p):
        erows.append((p, float(d), "update", "creator", -1, -1, False, td if is_d else tp))


def _comments(
    rng, erows, p, start, end, rate, diligence, shock, delivery: bool, n_backers: int
) -> None:
    """Backers' comments and questions in [start, end), and the creator's replies."""
    per_day = rate * (np.exp(0.6 * shock) if delivery else 1.0)
    n = rng.poisson(per_day * (end - start))
    days = np.sort(rng.uniform(start, end, n))
    question = rng.random(n) < (0.5 if delivery else 0.3)
    worried = rng.random(n) < (1 / (1 + np.exp(-shock)) if delivery else 0.1)
    t_q = _texts(rng, [(LEXICONS["worry"], 2), (_COMMENT_FILLER, 3)], n)
    t_c = _texts(rng, [(_COMMENT_FILLER, 3)], n)
    t_w = _texts(rng, [(LEXICONS["worry"], 1), (_COMMENT_FILLER, 3)], n)
    reply = rng.random(n) < 1 / (1 + np.exp(-(0.5 + diligence)))
    wait = rng.exponential(1.5 * np.exp(-0.7 * diligence), n)
    who = rng.integers(n_backers, size=n)  # the commenting backer (a pledger)
    for b in range(n):
        text = t_q[b] if question[b] else (t_w[b] if worried[b] else t_c[b])
        erows.append(
            (p, float(days[b]), "comment", "backer", int(who[b]), -1, bool(question[b]), text)
        )
        if question[b] and reply[b]:
            erows.append(
                (p, float(days[b] + wait[b]), "comment", "creator", -1, -1, False, "thanks reply")
            )


# ---- loading real projects from CSV ------------------------------------------------------------


def _read(path, what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} file {path} does not exist.")
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"{what} file {path} is empty: it needs a header row and one row per {what[:-1]}."
        ) from exc
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds
        raise DataError(f"could not read {path} as CSV ({exc}).") from exc
    if len(df) == 0:
        raise DataError(f"{what} file {path} has a header but no rows.")
    return df


def _require(df: pd.DataFrame, cols, what: str, path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(
            f"{what} file {path} lacks column(s) {missing}; it has {list(df.columns)}. "
            f"Required: {list(cols)} (see recsys_book/crowdfunding/data.py)."
        )


def _numeric(df: pd.DataFrame, col: str, what: str, path, minimum: float | None = None) -> None:
    num = pd.to_numeric(df[col], errors="coerce")
    bad = num.isna() & df[col].notna() | df[col].isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{what} file {path}: column {col!r} must be numeric but row {i + 2} holds "
            f"{df[col].tolist()[i]!r} ({int(bad.sum())} bad value(s) in all); fix or drop those rows."
        )
    if minimum is not None and (num < minimum).any():
        i = int(np.flatnonzero((num < minimum).to_numpy())[0])
        raise DataError(
            f"{what} file {path}: column {col!r} must be >= {minimum} but row {i + 2} holds "
            f"{num.tolist()[i]!r}."
        )
    df[col] = num


def load_crowdfunding_csv(
    projects: str | Path, rewards: str | Path, events: str | Path, name: str | None = None
) -> CrowdfundingData:
    """Load real projects from three CSV files (columns as in the module docstring).

    Raises :class:`DataError` naming the file, the column and the row on a missing column, a
    non-numeric value, an unknown ``kind``/``author``, an empty file or ids that do not match.
    Optional project columns that are absent are recorded in ``meta["absent"]`` and their
    features are left out of every feature table (never filled in).
    """
    pj = _read(projects, "projects")
    _require(pj, PROJECT_REQUIRED, "projects", projects)
    for col in ("goal", "fund_days", "ledd_days"):
        _numeric(pj, col, "projects", projects, minimum=0)
    present = [c for c in PROJECT_OPTIONAL + LABELS if c in pj.columns]
    for col in present:
        _numeric(pj, col, "projects", projects, minimum=0)
    if pj["project_id"].duplicated().any():
        dup = pj["project_id"][pj["project_id"].duplicated()].tolist()[0]
        raise DataError(f"projects file {projects}: project_id {dup!r} appears more than once.")
    if "on_time" in pj and not pj["on_time"].isin([0, 1]).all():
        raise DataError(f"projects file {projects}: column 'on_time' must hold 0 or 1.")
    rw = _read(rewards, "rewards")
    _require(rw, REWARD_REQUIRED, "rewards", rewards)
    _numeric(rw, "price", "rewards", rewards, minimum=0)
    rw["description"] = rw["description"].fillna("").astype(str)
    ev = _read(events, "events")
    _require(ev, EVENT_REQUIRED, "events", events)
    _numeric(ev, "day", "events", events, minimum=0)
    for col, default in EVENT_OPTIONAL.items():
        if col not in ev:
            ev[col] = default
    for col, allowed in (("kind", KINDS), ("author", AUTHORS)):
        bad = ~ev[col].isin(allowed)
        if bad.any():
            raise DataError(
                f"events file {events}: column {col!r} must be one of {list(allowed)} but row "
                f"{int(np.flatnonzero(bad.to_numpy())[0]) + 2} holds {ev[col][bad].tolist()[0]!r}."
            )
    ev["text"] = ev["text"].fillna("").astype(str)
    ev["is_question"] = ev["is_question"].astype(bool)
    known = set(pj["project_id"])
    for df, what, path in ((rw, "rewards", rewards), (ev, "events", events)):
        unknown = ~df["project_id"].isin(known)
        if unknown.any():
            raise DataError(
                f"{what} file {path}: project_id {df['project_id'][unknown].tolist()[0]!r} is not in "
                f"the projects file ({int(unknown.sum())} row(s)); drop them or add the project."
            )
    ev = ev.sort_values(["project_id", "day"], kind="stable").reset_index(drop=True)
    absent = [c for c in PROJECT_OPTIONAL + LABELS if c not in pj.columns]
    return CrowdfundingData(
        pj, rw, ev, name=name or Path(projects).stem, meta={"absent": absent, "source": "csv"}
    )


def save_crowdfunding_csv(data: CrowdfundingData, folder: str | Path) -> dict[str, Path]:
    """Write the three tables as CSV files (atomically) in ``folder``; returns their paths."""
    from recsys_book.utils import write_text_atomic

    folder = Path(folder)
    out = {}
    for what in ("projects", "rewards", "events"):
        out[what] = write_text_atomic(
            folder / f"{what}.csv", getattr(data, what).to_csv(index=False)
        )
    return out
