class CreateArticlesTags < ActiveRecord::Migration[7.1]
  def change
    create_join_table :articles, :tags, &:timestamps
    create_join_table :users, :groups do |t|
      t.index [:user_id, :group_id], unique: true
    end
  end
end
# verdict: pre_deploy: new join tables
