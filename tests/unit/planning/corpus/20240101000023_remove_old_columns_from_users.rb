class RemoveOldColumnsFromUsers < ActiveRecord::Migration[7.0]
  def change
    remove_columns :users, :old_a, :old_b, type: :string
  end
end
# verdict: post_deploy: both columns are in User.ignored_columns at --to
