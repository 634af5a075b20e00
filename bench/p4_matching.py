"""P4 matching: cohort assignment of 10,000 teachers to 1,000 mentors (capacities 2–5).

``bot.services.matching.assign_cohort`` (optimal within each teacher's best candidates) against
``assign_greedy`` (first come, first served) on the same seeded data: time of each, total score and its ratio.
Goal: assign_cohort ≤ 2 s, and a total score not worse than greedy.
"""

from __future__ import annotations

import random
import time

from bench.common import LEVELS, Result
from bot.services.matching import AREAS, CandidateProfile, TeacherProfile, assign_cohort, assign_greedy

REGIONS = ("72", "86", "89")
MUNICIPALITIES = tuple(f"Муниципалитет {i}" for i in range(12))
SUBJECTS = (
    "математика",
    "физика",
    "русский язык",
    "история",
    "биология",
    "информатика",
    "химия",
    "литература",
)


def make_cohort(
    teachers: int, mentors: int, seed: int = 4
) -> tuple[list[TeacherProfile], list[CandidateProfile]]:
    rng = random.Random(seed)
    teacher_list = []
    for i in range(teachers):
        municipality = rng.choice(MUNICIPALITIES)
        teacher_list.append(
            TeacherProfile(
                person_id=i + 1,
                region_code=rng.choice(REGIONS),
                municipality=municipality,
                school=f"{municipality}: школа {rng.randrange(30)}",
                subjects=frozenset(rng.sample(SUBJECTS, rng.randint(1, 2))),
                levels=frozenset(rng.sample(LEVELS, rng.randint(1, 2))),
                deficits=tuple(rng.sample(AREAS, rng.randint(0, 3))),
            )
        )
    mentor_list = []
    for j in range(mentors):
        municipality = rng.choice(MUNICIPALITIES)
        mentor_list.append(
            CandidateProfile(
                person_id=teachers + j + 1,
                kind="mentor",
                region_code=rng.choice(REGIONS),
                capacity=rng.randint(2, 5),
                load=0,
                municipality=municipality,
                school=f"{municipality}: школа {rng.randrange(30)}",
                subjects=frozenset(rng.sample(SUBJECTS, rng.randint(1, 3))),
                levels=frozenset(rng.sample(LEVELS, rng.randint(1, 3))),
                strong_areas=frozenset(rng.sample(AREAS, rng.randint(1, 3))),
                experience_years=rng.randint(3, 30),
            )
        )
    return teacher_list, mentor_list


def run(quick: bool = False) -> Result:
    n_teachers, n_mentors = (1000, 100) if quick else (10_000, 1000)
    teachers, mentors = make_cohort(n_teachers, n_mentors)
    started = time.perf_counter()
    cohort = assign_cohort(teachers, mentors)
    cohort_s = time.perf_counter() - started
    started = time.perf_counter()
    greedy = assign_greedy(teachers, mentors)
    greedy_s = time.perf_counter() - started
    capacity = sum(m.capacity for m in mentors)

    result = Result("p4_matching")
    result.figures.update(
        teachers=n_teachers,
        mentors=n_mentors,
        total_capacity=capacity,
        cohort_seconds=round(cohort_s, 3),
        greedy_seconds=round(greedy_s, 3),
        cohort_assigned=len(cohort.assignments),
        greedy_assigned=len(greedy.assignments),
        cohort_total_score=cohort.total_score,
        greedy_total_score=greedy.total_score,
    )
    score_ratio = cohort.total_score / greedy.total_score if greedy.total_score else 0.0
    result.ratios["score_cohort_vs_greedy"] = round(score_ratio, 4)
    result.ratios["time_cohort_vs_greedy"] = round(cohort_s / greedy_s, 3) if greedy_s else 0.0
    result.goal("assign_cohort time", cohort_s, 2.0, higher_is_better=False, unit="s")
    result.goal("score vs greedy", score_ratio, 1.0, higher_is_better=True, unit="×")
    return result
