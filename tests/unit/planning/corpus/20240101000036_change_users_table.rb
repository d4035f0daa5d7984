class ChangeUsersTable < ActiveRecord::Migration[7.1]
  def change
    change_table :users do |t|
      t.string :time_zone, default: "UTC"
      t.index :time_zone
      t.references :org, foreign_key: true
    end
  end
end
# verdict: pre_deploy: change_table that only adds
