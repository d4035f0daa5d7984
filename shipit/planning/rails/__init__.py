"""Rails migrations read without Ruby: values, names, operations, the walk, one handler registry, the parse."""

from shipit.planning.rails.operations import Direction, OpKind, Operation, ParsedMigration
from shipit.planning.rails.parse import parse_migration

__all__ = ["Direction", "OpKind", "Operation", "ParsedMigration", "parse_migration"]
