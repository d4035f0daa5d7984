class DropUsersNicknameDefault < ActiveRecord::Migration[7.1]
  def up
    change_column_default :users, :nickname, nil
  end

  def down
    change_column_default :users, :nickname, ""
  end
end
# verdict: pre_deploy: nickname is nullable: dropping its default only relaxes
