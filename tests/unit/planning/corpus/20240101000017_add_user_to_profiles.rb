class AddUserToProfiles < ActiveRecord::Migration[7.0]
  def change
    add_belongs_to :profiles, :user, index: { unique: true }, type: :bigint
  end
end
# verdict: pre_deploy: a new reference: additive
