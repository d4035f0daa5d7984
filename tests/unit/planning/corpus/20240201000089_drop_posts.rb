class DropPosts < ActiveRecord::Migration[7.1]
  def change
    drop_table :posts
  end
end
# verdict: manual: Post still maps posts at --to: the new code would break
# reason: app/models/post.rb
