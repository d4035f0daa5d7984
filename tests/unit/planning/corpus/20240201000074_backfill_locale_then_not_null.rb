class BackfillLocaleThenNotNull < ActiveRecord::Migration[7.1]
  class MigrationUser < ApplicationRecord
    self.table_name = "users"
  end

  def up
    MigrationUser.where(locale: nil).in_batches(of: 5_000).update_all(locale: "en")
    change_column_null :users, :locale, false
  end

  def down
    change_column_null :users, :locale, true
  end
end
# verdict: post_deploy: NOT NULL after its own backfill: after the code; the NULL check only advises
