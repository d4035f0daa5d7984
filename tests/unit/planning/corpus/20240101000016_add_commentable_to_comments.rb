class AddCommentableToComments < ActiveRecord::Migration[6.1]
  def change
    add_reference :comments, :commentable, polymorphic: true
  end
end
# verdict: pre_deploy: a polymorphic reference: additive; 6.1 names the index after the reference
