class BackfillWithModel < ActiveRecord::Migration[7.0]
  def up
    add_column :users, :active, :boolean
    User.reset_column_information
    User.where(active: nil).update_all(active: true)
  end
end
# verdict: pre_deploy: adds a column and fills it: additive, the data code is safe on both sides
