class GuardedIndex < ActiveRecord::Migration[7.1]
  def change
    add_index :users, :email, if_not_exists: true unless index_exists?(:users, :email)
  end
end
# verdict: pre_deploy: an idempotent index: additive
