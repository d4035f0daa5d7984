class DepartureAddIndexToComments < ActiveRecord::Migration[5.2]
  uses_departure! if Rails.env.production?

  def change
    add_index :comments, [:post_id, :created_at]
    add_column :comments, :edited_at, :datetime
  end
end
# verdict: pre_deploy: departure reroutes the same ALTERs through pt-online-schema-change: an index and a column, additive
