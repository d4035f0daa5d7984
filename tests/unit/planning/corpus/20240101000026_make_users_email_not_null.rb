class MakeUsersEmailNotNull < ActiveRecord::Migration[7.0]
  def change
    change_column_null :users, :email, false
  end
end
# verdict: post_deploy: NOT NULL only once no running code writes NULL
