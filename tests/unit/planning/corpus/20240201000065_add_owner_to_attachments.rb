class AddOwnerToAttachments < ActiveRecord::Migration[6.0]
  def change
    change_table :attachments do |t|
      t.references :owner, polymorphic: true
    end
  end
end
# verdict: pre_deploy: polymorphic reference; 6.0 names the index after both columns
