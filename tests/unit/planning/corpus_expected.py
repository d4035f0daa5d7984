"""Expected parse of every corpus migration: phase, operations (all fields but `source`), data checks.

A reviewed snapshot: each entry was checked by hand against Rails 5.2-8.0 semantics (pluralisation, default index on
references, FK column from the primary key since 7.1, only `up` counts); FK names were cross-checked with `sha256sum`,
and test_rails_names.py checks the predicted names against real ActiveRecord on MariaDB."""

EXPECTED = {
    '20240101000001_create_users.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'create_table', 'table': 'users', 'columns': ['id', 'email', 'name', 'created_at', 'updated_at'], 'primary_key': 'id', 'line': 3},
            {'kind': 'add_index', 'table': 'users', 'columns': ['email'], 'unique': True, 'name': 'index_users_on_email', 'line': 7},
        ],
        'checks': [],
    },
    '20240101000002_create_posts.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'create_table', 'table': 'posts', 'columns': ['id', 'user_id', 'category_id', 'title', 'body'], 'primary_key': 'id', 'line': 3},
            {'kind': 'add_reference', 'table': 'posts', 'columns': ['user_id'], 'name': 'index_posts_on_user_id', 'to_table': 'users', 'column': 'user_id', 'primary_key': 'id', 'index': True, 'foreign_key': True, 'line': 4},
            {'kind': 'add_reference', 'table': 'posts', 'columns': ['category_id'], 'column': 'category_id', 'index': False, 'foreign_key': False, 'line': 5},
        ],
        'checks': [],
    },
    '20240101000003_add_index_to_orders_user_id.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'orders', 'columns': ['user_id'], 'unique': False, 'name': 'index_orders_on_user_id', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000004_add_unique_index_on_users_email_tenant.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'users', 'columns': ['email', 'tenant_id'], 'unique': True, 'name': 'idx_users_email_tenant', 'algorithm': 'inplace', 'line': 3},
        ],
        'checks': [{'kind': 'duplicates', 'table': 'users', 'columns': ['email', 'tenant_id']}],
    },
    '20240101000005_add_events_account_created_index.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'events', 'columns': ['account_id', 'created_at'], 'unique': False, 'name': 'index_events_on_account_id_and_created_at', 'line': 4},
        ],
        'checks': [],
    },
    '20240101000006_add_unique_events_kind_status.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'events', 'columns': ['kind', 'status'], 'unique': True, 'name': 'index_events_on_kind_and_status', 'line': 5},
        ],
        'checks': [{'kind': 'duplicates', 'table': 'events', 'columns': ['kind', 'status']}],
    },
    '20240101000007_remove_users_legacy_token_index.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'remove_index', 'table': 'users', 'columns': ['legacy_token'], 'name': 'index_users_on_legacy_token', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000008_remove_index_by_name.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'remove_index', 'table': 'users', 'columns': [], 'name': 'idx_old', 'algorithm': 'inplace', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000009_add_orders_users_fk.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_foreign_key', 'table': 'orders', 'columns': ['user_id'], 'name': 'fk_rails_f868b47f6a', 'to_table': 'users', 'column': 'user_id', 'primary_key': 'id', 'line': 3},
        ],
        'checks': [{'kind': 'orphans', 'table': 'orders', 'column': 'user_id', 'to_table': 'users', 'primary_key': 'id'}],
    },
    '20240101000010_add_comments_article_fk.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_foreign_key', 'table': 'comments', 'columns': ['article_id'], 'name': 'fk_comments_article', 'to_table': 'posts', 'column': 'article_id', 'primary_key': 'uuid', 'line': 3},
        ],
        'checks': [{'kind': 'orphans', 'table': 'comments', 'column': 'article_id', 'to_table': 'posts', 'primary_key': 'uuid'}],
    },
    '20240101000011_add_line_items_products_fk71.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_foreign_key', 'table': 'line_items', 'columns': ['product_sku'], 'name': 'fk_rails_edbdff150f', 'to_table': 'products', 'column': 'product_sku', 'primary_key': 'sku', 'line': 3},
        ],
        'checks': [{'kind': 'orphans', 'table': 'line_items', 'column': 'product_sku', 'to_table': 'products', 'primary_key': 'sku'}],
    },
    '20240101000012_add_line_items_products_fk70.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_foreign_key', 'table': 'line_items', 'columns': ['product_id'], 'name': 'fk_rails_11e15d5c6b', 'to_table': 'products', 'column': 'product_id', 'primary_key': 'sku', 'line': 3},
        ],
        'checks': [{'kind': 'orphans', 'table': 'line_items', 'column': 'product_id', 'to_table': 'products', 'primary_key': 'sku'}],
    },
    '20240101000013_remove_orders_users_fk.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'remove_foreign_key', 'table': 'orders', 'columns': ['user_id'], 'name': 'fk_rails_f868b47f6a', 'to_table': 'users', 'column': 'user_id', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000014_remove_comments_author_fk.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'remove_foreign_key', 'table': 'comments', 'columns': ['author_id'], 'name': 'fk_rails_f44b1e3c8a', 'column': 'author_id', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000015_add_author_to_posts.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_reference', 'table': 'posts', 'columns': ['author_id'], 'name': 'index_posts_on_author_id', 'to_table': 'users', 'column': 'author_id', 'primary_key': 'id', 'index': True, 'foreign_key': True, 'line': 3},
        ],
        'checks': [],
    },
    '20240101000016_add_commentable_to_comments.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_reference', 'table': 'comments', 'columns': ['commentable_type', 'commentable_id'], 'name': 'index_comments_on_commentable_type_and_commentable_id', 'column': 'commentable_id', 'index': True, 'foreign_key': False, 'line': 3},
        ],
        'checks': [],
    },
    '20240101000017_add_user_to_profiles.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_reference', 'table': 'profiles', 'columns': ['user_id'], 'unique': True, 'name': 'index_profiles_on_user_id', 'column': 'user_id', 'column_type': 'bigint', 'index': True, 'foreign_key': False, 'line': 3},
        ],
        'checks': [],
    },
    '20240101000018_add_pluralised_references.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_reference', 'table': 'shipments', 'columns': ['delivery_company_id'], 'name': 'index_shipments_on_delivery_company_id', 'to_table': 'delivery_companies', 'column': 'delivery_company_id', 'primary_key': 'id', 'index': True, 'foreign_key': True, 'line': 3},
            {'kind': 'add_reference', 'table': 'tags', 'columns': ['box_id'], 'to_table': 'boxes', 'column': 'box_id', 'primary_key': 'id', 'index': False, 'foreign_key': True, 'line': 4},
            {'kind': 'add_reference', 'table': 'people', 'columns': ['address_id'], 'to_table': 'addresses', 'column': 'address_id', 'primary_key': 'id', 'index': False, 'foreign_key': True, 'line': 5},
        ],
        'checks': [],
    },
    '20240101000019_add_nickname_to_users.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'users', 'columns': ['nickname'], 'column': 'nickname', 'column_type': 'string', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000020_add_score_to_users.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'users', 'columns': ['score'], 'column': 'score', 'null': False, 'default': 0, 'column_type': 'integer', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000021_add_plan_to_users.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'users', 'columns': ['plan'], 'column': 'plan', 'null': False, 'column_type': 'string', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000022_remove_legacy_token_from_users.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'remove_column', 'table': 'users', 'columns': ['legacy_token'], 'column': 'legacy_token', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000023_remove_old_columns_from_users.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'remove_column', 'table': 'users', 'columns': ['old_a', 'old_b'], 'line': 3},
        ],
        'checks': [],
    },
    '20240101000024_rename_users_name.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'rename_column', 'table': 'users', 'columns': ['name'], 'column': 'name', 'new_name': 'full_name', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000025_change_orders_amount_type.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'change_column', 'table': 'orders', 'columns': ['amount'], 'column': 'amount', 'null': False, 'column_type': 'decimal', 'line': 3},
        ],
        'checks': [{'kind': 'nulls', 'table': 'orders', 'column': 'amount'}],
    },
    '20240101000026_make_users_email_not_null.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'change_column_null', 'table': 'users', 'columns': ['email'], 'column': 'email', 'null': False, 'line': 3},
        ],
        'checks': [{'kind': 'nulls', 'table': 'users', 'column': 'email'}],
    },
    '20240101000027_allow_null_users_phone.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'change_column_null', 'table': 'users', 'columns': ['phone'], 'column': 'phone', 'null': True, 'line': 3},
        ],
        'checks': [],
    },
    '20240101000028_backfill_and_require_users_locale.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'change_column_null', 'table': 'users', 'columns': ['locale'], 'column': 'locale', 'null': False, 'default': 'en', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000029_default_users_status.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'change_column_default', 'table': 'users', 'columns': ['status'], 'column': 'status', 'default': 'active', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000030_rename_events_to_activities.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'rename_table', 'table': 'events', 'columns': [], 'new_name': 'activities', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000031_drop_legacy_events.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'drop_table', 'table': 'legacy_events', 'columns': [], 'line': 3},
        ],
        'checks': [],
    },
    '20240101000032_backfill_with_sql.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'execute', 'table': None, 'columns': [], 'sql': "UPDATE users\n   SET status = 'active'\n WHERE status IS NULL", 'line': 3},
        ],
        'checks': [],
    },
    '20240101000033_execute_up_down.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'execute', 'table': None, 'columns': [], 'sql': 'ALTER TABLE orders ENGINE=InnoDB', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000034_add_orders_state_index_up_down.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'orders', 'columns': ['state'], 'unique': False, 'name': 'index_orders_on_state', 'algorithm': 'inplace', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000035_reversible_index.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'orders', 'columns': ['shipped_at'], 'column': 'shipped_at', 'column_type': 'datetime', 'line': 3},
            {'kind': 'add_index', 'table': 'orders', 'columns': ['shipped_at'], 'unique': False, 'name': 'index_orders_on_shipped_at', 'line': 5},
        ],
        'checks': [],
    },
    '20240101000036_change_users_table.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'users', 'columns': ['time_zone'], 'column': 'time_zone', 'default': 'UTC', 'column_type': 'string', 'line': 4},
            {'kind': 'add_index', 'table': 'users', 'columns': ['time_zone'], 'unique': False, 'name': 'index_users_on_time_zone', 'line': 5},
            {'kind': 'add_reference', 'table': 'users', 'columns': ['org_id'], 'name': 'index_users_on_org_id', 'to_table': 'orgs', 'column': 'org_id', 'primary_key': 'id', 'index': True, 'foreign_key': True, 'line': 6},
        ],
        'checks': [],
    },
    '20240101000037_change_users_table_removals.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'remove_column', 'table': 'users', 'columns': ['old_a', 'old_b'], 'line': 4},
            {'kind': 'rename_column', 'table': 'users', 'columns': ['login'], 'column': 'login', 'new_name': 'username', 'line': 5},
            {'kind': 'remove_index', 'table': 'users', 'columns': ['legacy_token'], 'name': 'index_users_on_legacy_token', 'line': 6},
        ],
        'checks': [],
    },
    '20240101000038_add_and_remove_columns.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'add_column', 'table': 'users', 'columns': ['display_name'], 'column': 'display_name', 'column_type': 'string', 'line': 3},
            {'kind': 'remove_column', 'table': 'users', 'columns': ['name'], 'column': 'name', 'line': 4},
        ],
        'checks': [],
    },
    'post_migrate/20240101000039_remove_users_legacy_flag.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'remove_column', 'table': 'users', 'columns': ['legacy_flag'], 'column': 'legacy_flag', 'line': 3},
        ],
        'checks': [],
    },
    'post_migrate/20240101000040_add_reporting_index.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'orders', 'columns': ['created_at', 'state'], 'unique': False, 'name': 'idx_orders_reporting', 'algorithm': 'inplace', 'line': 5},
        ],
        'checks': [],
    },
    '20240101000041_backfill_with_model.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'add_column', 'table': 'users', 'columns': ['active'], 'column': 'active', 'column_type': 'boolean', 'line': 3},
            {'kind': 'unknown', 'table': None, 'columns': [], 'line': 5},
        ],
        'checks': [],
    },
    '20240101000042_add_amount_check.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'unknown', 'table': None, 'columns': [], 'line': 3},
        ],
        'checks': [],
    },
    '20240101000043_computed_index_columns.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'unknown', 'table': None, 'columns': [], 'line': 5},
        ],
        'checks': [],
    },
    '20240101000044_create_accounts_schema_style.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'create_table', 'table': 'accounts', 'columns': ['id', 'name', 'balance', 'created_at'], 'primary_key': 'id', 'line': 3},
            {'kind': 'add_index', 'table': 'accounts', 'columns': ['name'], 'unique': True, 'name': 'index_accounts_on_name', 'line': 7},
        ],
        'checks': [],
    },
    '20240101000045_create_sessions_without_id.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'create_table', 'table': 'sessions', 'columns': ['token', 'user_id'], 'line': 3},
            {'kind': 'add_reference', 'table': 'sessions', 'columns': ['user_id'], 'name': 'index_sessions_on_user_id', 'to_table': 'users', 'column': 'user_id', 'primary_key': 'id', 'null': False, 'index': True, 'foreign_key': True, 'line': 5},
            {'kind': 'add_index', 'table': 'sessions', 'columns': ['token'], 'unique': True, 'name': 'index_sessions_on_token', 'line': 6},
        ],
        'checks': [],
    },
    '20240101000046_safety_assured_removal.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'remove_column', 'table': 'users', 'columns': ['ssn'], 'column': 'ssn', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000047_guarded_index.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'users', 'columns': ['email'], 'unique': False, 'name': 'index_users_on_email', 'idempotent': True, 'line': 3},
        ],
        'checks': [],
    },
    '20240101000048_create_roles_users.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'create_table', 'table': 'roles_users', 'columns': ['user_id', 'role_id'], 'line': 3},
            {'kind': 'add_index', 'table': 'roles_users', 'columns': ['user_id', 'role_id'], 'unique': True, 'name': 'index_roles_users_on_user_id_and_role_id', 'line': 4},
        ],
        'checks': [],
    },
    '20240101000049_add_timestamps_to_widgets.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'widgets', 'columns': ['created_at'], 'column': 'created_at', 'null': True, 'column_type': 'datetime', 'line': 3},
            {'kind': 'add_column', 'table': 'widgets', 'columns': ['updated_at'], 'column': 'updated_at', 'null': True, 'column_type': 'datetime', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000050_hash_rockets_and_quoted_symbols.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'users', 'columns': ['api_key'], 'unique': True, 'name': 'index_users_api_key', 'line': 3},
            {'kind': 'add_column', 'table': 'user_events', 'columns': ['payload'], 'column': 'payload', 'column_type': 'json', 'line': 4},
        ],
        'checks': [{'kind': 'duplicates', 'table': 'users', 'columns': ['api_key']}],
    },
    '20240101000051_parenthesized_calls.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'orders', 'columns': ['state', 'created_at'], 'unique': False, 'name': 'idx_orders_state_created', 'line': 3},
            {'kind': 'add_column', 'table': 'orders', 'columns': ['note'], 'column': 'note', 'column_type': 'text', 'line': 4},
        ],
        'checks': [],
    },
    '20240101000052_up_only_and_say.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'accounts', 'columns': ['beta'], 'column': 'beta', 'default': False, 'column_type': 'boolean', 'line': 4},
            {'kind': 'change_column_default', 'table': 'accounts', 'columns': ['beta'], 'column': 'beta', 'default': True, 'line': 7},
        ],
        'checks': [],
    },
    '20240101000053_the_incident.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_foreign_key', 'table': 'orders', 'columns': ['account_id'], 'name': 'fk_rails_144e25bef6', 'to_table': 'accounts', 'column': 'account_id', 'primary_key': 'id', 'line': 3},
            {'kind': 'add_index', 'table': 'orders', 'columns': ['account_id', 'created_at'], 'unique': False, 'name': 'index_orders_on_account_id_and_created_at', 'line': 4},
        ],
        'checks': [{'kind': 'orphans', 'table': 'orders', 'column': 'account_id', 'to_table': 'accounts', 'primary_key': 'id'}],
    },
    '20240101000054_remove_author_reference.rb': {
        'phase': 'post_deploy',
        'ops': [
            {'kind': 'remove_foreign_key', 'table': 'posts', 'columns': ['author_id'], 'name': 'fk_rails_04d13ef8c7', 'to_table': 'users', 'column': 'author_id', 'line': 3},
            {'kind': 'remove_column', 'table': 'posts', 'columns': ['author_id'], 'column': 'author_id', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000055_add_lower_email_index.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_index', 'table': 'users', 'columns': ['lower(email)'], 'unique': True, 'name': 'index_users_on_lower_email', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000056_reversible_sql.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'execute', 'table': None, 'columns': [], 'sql': 'CREATE VIEW active_users AS SELECT * FROM users WHERE active = 1', 'line': 5},
        ],
        'checks': [],
    },
    '20240101000057_old_style_self_up.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'users', 'columns': ['legacy'], 'column': 'legacy', 'column_type': 'boolean', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000058_broken_syntax.rb': {
        'phase': 'manual',
        'ops': [
        ],
        'checks': [],
    },
    '20240101000059_wrong_class_name.rb': {
        'phase': 'pre_deploy',
        'ops': [
            {'kind': 'add_column', 'table': 'users', 'columns': ['y'], 'column': 'y', 'column_type': 'string', 'line': 3},
        ],
        'checks': [],
    },
    '20240101000060_conditional_branches.rb': {
        'phase': 'manual',
        'ops': [
            {'kind': 'remove_column', 'table': 'users', 'columns': ['tmp'], 'column': 'tmp', 'line': 4},
            {'kind': 'add_column', 'table': 'users', 'columns': ['kept'], 'column': 'kept', 'column_type': 'string', 'line': 6},
        ],
        'checks': [],
    },
}
