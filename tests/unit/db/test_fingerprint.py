from shipit.db.fingerprint import fingerprint


def test_literals_become_placeholders_and_shape_is_shared():
    a = fingerprint("SELECT * FROM orders WHERE user_id = 42 AND status = 'paid'")
    b = fingerprint("select *\n  from orders   where user_id=7 and status=\"open\"")
    assert a == "select * from orders where user_id = ? and status = ?"
    assert b == "select * from orders where user_id=? and status=?"


def test_in_and_values_lists_collapse():
    assert fingerprint("SELECT id FROM t WHERE id IN (1, 2, 3)") == fingerprint("SELECT id FROM t WHERE id IN (9)")
    assert fingerprint("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')") == "insert into t (a, b) values(?+)"


def test_comments_whitespace_and_case_fold():
    q1 = "/* app:web */ SELECT name FROM users WHERE id = 1 -- trailing"
    q2 = "select NAME from USERS where ID = 99"
    assert fingerprint(q1) == "select name from users where id = ?"
    assert fingerprint(q1) == fingerprint(q2)


def test_numbers_inside_identifiers_abstracted_like_pt_query_digest():
    assert fingerprint("SELECT * FROM users_2009") == fingerprint("SELECT * FROM users_2010")


def test_limit_order_by_null_bool_call_use():
    assert fingerprint("SELECT a FROM t ORDER BY a ASC, b DESC LIMIT 10, 20") == "select a from t order by a, b desc limit ?"
    assert fingerprint("SELECT a FROM t LIMIT 5 OFFSET 10") == "select a from t limit ?"
    assert fingerprint("UPDATE t SET a = NULL, b = TRUE") == "update t set a = ?, b = ?"
    assert fingerprint("CALL refresh_stats(1, 'x')") == "call refresh_stats"
    assert fingerprint("use shop_production") == "use ?"


def test_escaped_quotes_do_not_leak_literals():
    fp = fingerprint(r"SELECT * FROM u WHERE email = 'o\'brien@example.com'")
    assert "brien" not in fp and fp == "select * from u where email = ?"


def test_union_arms_fold_and_tool_queries_are_named():
    assert fingerprint("SELECT a FROM t WHERE id = 1 UNION SELECT a FROM t WHERE id = 2") == \
        "select a from t where id = ? /*repeat union*/"
    assert fingerprint("SELECT /*!40001 SQL_NO_CACHE */ * FROM `orders`") == "mysqldump"
    assert fingerprint("REPLACE /*db.t:1/5*/ INTO checksums SELECT 1") == "percona-toolkit"


def test_signed_and_float_literals_and_line_comments_fold():
    assert fingerprint("SELECT * FROM t WHERE a = -5 AND c = 1.5e3 # why") == "select * from t where a = ? and c = ?"
    assert fingerprint('SELECT "a" FROM t ORDER BY a ASC') == "select ? from t order by a"


def test_insert_ignore_rows_collapse_to_one_shape():
    one = fingerprint("INSERT IGNORE INTO t (a) VALUES (1)")
    many = fingerprint("INSERT IGNORE INTO t (a) VALUES (1),(2),(3)")
    assert one == many == "insert ignore into t (a) values(?+)"


def test_administrator_commands_and_missing_text_pass_through():
    assert fingerprint("administrator command: Ping") == "administrator command: Ping"
    assert fingerprint(None) == fingerprint("") == ""
