class RemoveAuditTrailsIp < ActiveRecord::Migration[7.1]
  def change
    remove_column :audit_trails, :ip, :string
  end
end
# verdict: post_deploy: no model caches audit_trails' columns; after the code
