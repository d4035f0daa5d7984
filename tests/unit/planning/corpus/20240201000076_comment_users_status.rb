class CommentUsersStatus < ActiveRecord::Migration[7.0]
  def change
    change_column_comment :users, :status, from: nil, to: "active | suspended | closed"
    change_table_comment :users, from: nil, to: "people who can log in"
  end
end
# verdict: pre_deploy: comments change nothing the code sees
