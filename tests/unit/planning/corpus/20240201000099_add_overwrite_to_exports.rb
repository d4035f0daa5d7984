require Rails.root.join('lib', 'mastodon', 'migration_helpers')

class AddOverwriteToExports < ActiveRecord::Migration[5.2]
  include Mastodon::MigrationHelpers

  disable_ddl_transaction!

  def up
    safety_assured do
      add_column_with_default :exports, :overwrite, :boolean, default: false, allow_null: false
    end
  end

  def down
    remove_column :exports, :overwrite, :boolean
  end
end
# verdict: pre_deploy: the helper adds a defaulted column and backfills it in batches: additive
