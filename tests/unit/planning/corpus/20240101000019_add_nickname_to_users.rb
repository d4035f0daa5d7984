class AddNicknameToUsers < ActiveRecord::Migration[8.0]
  def change
    add_column :users, :nickname, :string
  end
end
# verdict: pre_deploy: a nullable column: the old code ignores it
