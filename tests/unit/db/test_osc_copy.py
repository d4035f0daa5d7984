"""The copy statements of gh-ost, pt-online-schema-change and LHM read for their key range, and the share copied
computed against the table's lowest and highest key. Pure: no server."""

from __future__ import annotations

import pytest

from shipit.db.osc_copy import CopyChunk, copied_pct, parse_copy_chunk

# captured from the processlist while Debian's pt-online-schema-change 3.x copied a 200k-row table on MariaDB
PT_OSC_REAL = (
    "INSERT LOW_PRIORITY IGNORE INTO `shipit_osc16_capture`.`_orders_new` (`id`, `customer_id`, `note`) SELECT `id`, "
    "`customer_id`, `note` FROM `shipit_osc16_capture`.`orders` FORCE INDEX(`PRIMARY`) WHERE ((`id` >= '195001')) "
    "AND ((`id` <= '200000')) LOCK IN SHARE MODE /*pt-online-schema-change 3412 copy nibble*/"
)
# gh-ost's range insert (go/sql/builder.go) as the processlist shows it, its arguments interpolated
GH_OST = (
    "insert /* gh-ost `shop`.`carts` */ ignore\n\t\t\t\tinto\n\t\t\t\t\t`shop`.`_carts_gho`\n\t\t\t\t\t(`id`, `user_id`)\n"
    "\t\t\t\t(\n\t\t\t\tselect `id`, `user_id` from `shop`.`carts` force index (`PRIMARY`)\n"
    "\t\t\t\twhere (((`id` > 40000)) and ((`id` < 41000) or ((`id` = 41000)))) lock in share mode\n\t\t\t\t)"
)
GH_OST_FIRST = (
    "insert /* gh-ost `shop`.`carts` */ ignore into `shop`.`_carts_gho` (`id`, `user_id`) (select `id`, `user_id` "
    "from `shop`.`carts` force index (`PRIMARY`) where (((`id` > 1) or ((`id` = 1))) and ((`id` < 1000) or "
    "((`id` = 1000)))) lock in share mode)"
)
# its driver (go-sql-driver, interpolateParams=true) writes the key values it read back as raw bytes
GH_OST_BINARY = (
    "insert /* gh-ost `shop`.`carts` */ ignore into `shop`.`_carts_gho` (`id`, `user_id`) (select `id`, `user_id` "
    "from `shop`.`carts` force index (`PRIMARY`) where (((`id` > _binary'40000')) and ((`id` < _binary'41000') or "
    "((`id` = _binary'41000')))) lock in share mode)"
)
LHM = ("INSERT IGNORE INTO `lhmn_users` (`id`, `email`) SELECT `users`.`id`, `users`.`email` FROM `users` "
       "WHERE `users`.`id` BETWEEN 1 AND 40000")
LHM_LOWER = ("insert ignore into `lhmn_users` (`id`, `email`) select `users`.`id`, `users`.`email` from `users` "
             "where `users`.`id` between 40001 and 80000")


@pytest.mark.parametrize("statement, expected", [
    (PT_OSC_REAL, CopyChunk("shipit_osc16_capture", "orders", "id", 200000)),
    (GH_OST, CopyChunk("shop", "carts", "id", 41000)),
    (GH_OST_FIRST, CopyChunk("shop", "carts", "id", 1000)),
    (GH_OST_BINARY, CopyChunk("shop", "carts", "id", 41000)),
    (LHM, CopyChunk(None, "users", "id", 40000)),
    (LHM_LOWER, CopyChunk(None, "users", "id", 80000)),
])
def test_each_tools_copy_statement_gives_its_table_key_and_upper_bound(statement, expected):
    assert parse_copy_chunk(statement) == expected


@pytest.mark.parametrize("statement", [
    "",
    "SELECT * FROM orders WHERE id <= 10",  # not a copy
    "ALTER TABLE orders ADD INDEX idx (customer_id)",
    # a composite key: a range over two columns is not one number line
    "INSERT LOW_PRIORITY IGNORE INTO `s`.`_t_new` (`a`, `b`) SELECT `a`, `b` FROM `s`.`t` FORCE INDEX(`PRIMARY`) "
    "WHERE ((`a` > '1') OR (`a` = '1' AND `b` >= '5')) AND ((`a` < '9') OR (`a` = '9' AND `b` <= '3')) "
    "LOCK IN SHARE MODE /*pt-online-schema-change 1 copy nibble*/",
    # a string key
    "INSERT LOW_PRIORITY IGNORE INTO `s`.`_t_new` (`code`) SELECT `code` FROM `s`.`t` FORCE INDEX(`PRIMARY`) "
    "WHERE ((`code` >= 'aa')) AND ((`code` <= 'mz')) LOCK IN SHARE MODE /*pt-online-schema-change 1 copy nibble*/",
    # placeholders not interpolated: no bound to read
    "insert /* gh-ost `s`.`t` */ ignore into `s`.`_t_gho` (`id`) (select `id` from `s`.`t` force index (`PRIMARY`) "
    "where (((`id` > ?)) and ((`id` < ?) or ((`id` = ?)))) lock in share mode)",
])
def test_other_statements_and_unusable_ranges_give_none(statement):
    assert parse_copy_chunk(statement) is None


def test_the_share_copied_is_the_upper_bound_within_the_tables_key_range():
    chunk = CopyChunk("s", "t", "id", 50_001)
    assert copied_pct(chunk, 1, 200_001) == 25.0
    assert copied_pct(CopyChunk("s", "t", "id", 1_000), 1_001, 2_001) == 0.0  # below the lowest key
    assert copied_pct(CopyChunk("s", "t", "id", 300_000), 1, 200_001) == 100.0  # rows deleted since: capped
    assert copied_pct(chunk, 7, 7) is None and copied_pct(chunk, None, None) is None  # one row, empty table


def test_the_bounds_query_reads_the_key_of_the_original_table():
    assert CopyChunk(None, "us`ers", "id", 5).bounds_sql("shop") == (
        "SELECT MIN(`id`) AS lo, MAX(`id`) AS hi FROM `shop`.`us``ers`")
