class BackfillAndRequireUsersLocale < ActiveRecord::Migration[7.0]
  def change
    change_column_null :users, :locale, false, "en"
  end
end
# verdict: post_deploy: NOT NULL (with Rails' backfill) waits until the old code stops writing NULL
