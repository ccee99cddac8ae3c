"""The nine Implementation Drivers, in their three groups."""

from __future__ import annotations

from enum import StrEnum


class DriverGroup(StrEnum):
    COMPETENCY = "Competency"
    ORGANIZATION = "Organization"
    LEADERSHIP = "Leadership"


class Driver(StrEnum):
    SELECTION = "Selection"
    TRAINING = "Training"
    COACHING = "Coaching"
    PERFORMANCE_ASSESSMENT = "Performance Assessment"
    DECISION_SUPPORT_DATA_SYSTEM = "Decision Support Data System"
    FACILITATIVE_ADMINISTRATION = "Facilitative Administration"
    SYSTEMS_INTERVENTION = "Systems Intervention"
    TECHNICAL_LEADERSHIP = "Technical Leadership"
    ADAPTIVE_LEADERSHIP = "Adaptive Leadership"

    @property
    def group(self) -> DriverGroup:
        return DRIVER_GROUPS[self]


DRIVER_GROUPS: dict[Driver, DriverGroup] = {
    Driver.SELECTION: DriverGroup.COMPETENCY,
    Driver.TRAINING: DriverGroup.COMPETENCY,
    Driver.COACHING: DriverGroup.COMPETENCY,
    Driver.PERFORMANCE_ASSESSMENT: DriverGroup.COMPETENCY,
    Driver.DECISION_SUPPORT_DATA_SYSTEM: DriverGroup.ORGANIZATION,
    Driver.FACILITATIVE_ADMINISTRATION: DriverGroup.ORGANIZATION,
    Driver.SYSTEMS_INTERVENTION: DriverGroup.ORGANIZATION,
    Driver.TECHNICAL_LEADERSHIP: DriverGroup.LEADERSHIP,
    Driver.ADAPTIVE_LEADERSHIP: DriverGroup.LEADERSHIP,
}


def drivers_in(group: DriverGroup) -> list[Driver]:
    return [driver for driver, owner in DRIVER_GROUPS.items() if owner is group]
