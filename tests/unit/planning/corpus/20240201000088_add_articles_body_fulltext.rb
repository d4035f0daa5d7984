class AddArticlesBodyFulltext < ActiveRecord::Migration[7.0]
  def change
    add_index :articles, :body, type: :fulltext
  end
end
# verdict: pre_deploy: additive, but the first FULLTEXT index rebuilds the table (warned)
