class AddScoreToUsers < ActiveRecord::Migration[7.1]
  def change
    add_column :users, :score, :integer, null: false, default: 0
  end
end
# verdict: pre_deploy: a column with a default: the old code ignores it
