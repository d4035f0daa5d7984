class RemoveCommentsAuthorFk < ActiveRecord::Migration[7.1]
  def change
    remove_foreign_key :comments, column: :author_id
  end
end
# verdict: pre_deploy: dropping a foreign key only relaxes
