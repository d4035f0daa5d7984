class AllowNullUsersPhone < ActiveRecord::Migration[7.0]
  def change
    change_column_null :users, :phone, true
  end
end
