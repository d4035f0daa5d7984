class AllowNullUsersPhone < ActiveRecord::Migration[7.0]
  def change
    change_column_null :users, :phone, true
  end
end
# verdict: pre_deploy: allowing NULL relaxes: safe on both sides
