class AddCommentsArticleFk < ActiveRecord::Migration[7.0]
  def change
    add_foreign_key :comments, :posts, column: :article_id, primary_key: :uuid, name: "fk_comments_article"
  end
end
# verdict: pre_deploy: a foreign key to a non-id key; orphans checked against it
