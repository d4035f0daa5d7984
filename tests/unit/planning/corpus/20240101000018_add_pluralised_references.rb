class AddPluralisedReferences < ActiveRecord::Migration[7.1]
  def change
    add_reference :shipments, :delivery_company, foreign_key: true
    add_reference :tags, :box, foreign_key: true, index: false
    add_reference :people, :address, foreign_key: true, index: false
  end
end
# verdict: pre_deploy: new references: additive
